// Package feature is what a feature folder (internal/feature/<name>)
// provides: its annotation keys, the controller ConfigMap keys it owns,
// and how it builds its part of a route's policy from one Ingress's
// annotations. feature/all lists the folders in request order, as
// CoreDNS's plugin.cfg. Nothing here imports Kubernetes, so the data plane
// may read that list, and each folder's request step once it has one.
//
// The model a feature fills stays a routecfg type (routecfg/<name>.go,
// with its Dump): the data plane and Gateway API translation share it.
package feature

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is one folder's entry in the list.
type Feature struct {
	// Name is the folder's name.
	Name string
	// Keys are the feature's annotations: the generated docs, the unknown
	// key and the needs checks read them.
	Keys []annotations.Key
	// Settings are the controller ConfigMap keys the feature owns;
	// controllerconfig validates and documents them with its own.
	Settings []Setting
	// Build reads the feature's annotations of one Ingress (bad values
	// are reported through r) into its field of p, which every route of
	// the Ingress shares. nil: the feature has no route policy.
	Build func(env Env, r *annotations.Reader, p *routecfg.RoutePolicy)
}

// Setting is a controller ConfigMap key owned by a feature.
type Setting struct {
	Name, Default, Doc string
	// Check refuses a value with the reason; the default is then used.
	Check func(v string) error
}

// Env is what Build may read besides the Ingress's annotations.
type Env interface {
	// Setting is the controller ConfigMap's value of key, trimmed; for a
	// key a feature owns, its default when unset or refused; "" for
	// another key that is unset.
	Setting(key string) string
	// Deny makes the Ingress's routes answer 503 with the reason, as
	// ingress-nginx denies a location whose access-control annotation
	// is invalid. The first reason wins.
	Deny(reason string)
	// Ref resolves "name" or "namespace/name", which annotation key
	// names, to "namespace/name"; an object of another namespace than
	// the Ingress's is reported (AnnotationCrossNamespace) and refused.
	Ref(r *annotations.Reader, key, ref, kind string) (string, bool)
	// Secret and ConfigMap return an object's data by "namespace/name".
	Secret(ref string) (map[string][]byte, bool)
	ConfigMap(ref string) (map[string]string, bool)
}

// Report adds a diagnostic on annotation key of the Ingress r reads.
func Report(r *annotations.Reader, key string, sev diag.Severity, reason, msg string) {
	r.Diags = append(r.Diags, diag.Diagnostic{Object: r.Object, Severity: sev, Reason: reason, Field: "metadata.annotations." + r.FullKey(key), Message: msg})
}
