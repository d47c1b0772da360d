// Package translate is moat's pure step: an immutable snapshot of Kubernetes
// objects in, a routing configuration and diagnostics out. No clients, no
// logging, no clock: everything it needs comes in through Options.
//
// This package claims Ingresses, reads the controller ConfigMap, runs the
// passes in order and applies incremental changes; the passes live in
// sub-packages over one shared core.State: policy reads annotations,
// ingress builds hosts, gateway translates the Gateway API, streams the
// TCP and UDP services, with resolve (Services to pools), certs
// (certificate cache and checks) and diagmerge (result order) below them.
package translate

import (
	"sort"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/certs"
	"github.com/moat-ingress/moat/internal/translate/core"
	"github.com/moat-ingress/moat/internal/translate/diagmerge"
	"github.com/moat-ingress/moat/internal/translate/ingress"
	"github.com/moat-ingress/moat/internal/translate/policy"
)

// Options are the controller settings translate depends on (core.Options).
type Options = core.Options

// Listeners are the addresses moat serves on (core.Listeners).
type Listeners = core.Listeners

// CertCache memoises key-pair parsing across translates (certs.Cache).
type CertCache = certs.Cache

// NewCertCache returns an empty cache.
func NewCertCache() *CertCache { return certs.New() }

// MaxAuthDepth is how many auth sub-requests may nest (policy.MaxAuthDepth).
const MaxAuthDepth = policy.MaxAuthDepth

// DefaultControllerClass is the IngressClass controller value moat claims.
const DefaultControllerClass = "moat.dev/ingress-controller"

// HSTSValue is ingress-nginx's default header (hsts-max-age 31536000,
// hsts-include-subdomains true, hsts-preload false).
const HSTSValue = "max-age=31536000; includeSubDomains"

// Translate builds the routing configuration for a snapshot. It never fails:
// what cannot be served is left out and reported.
func Translate(sn *store.Snapshot, opts Options) (*routecfg.Config, []diag.Diagnostic) {
	t := newTranslator(sn, opts)
	t.run()
	return t.Config, t.sortedDiags()
}

func newTranslator(sn *store.Snapshot, opts Options) *translator {
	st := core.New(sn, opts)
	pol := policy.New(st)
	return &translator{
		State:  st,
		pol:    pol,
		b:      ingress.New(st, pol),
		claims: map[*networkingv1.Ingress]bool{},
	}
}

// run is a full translate; t.Diags are translate's own diagnostics in the
// order they were found (the snapshot's are added by sortedDiags).
func (t *translator) run() {
	ings := t.claimedIngresses()
	t.loadControllerConfig()
	t.pol.CheckWAFGlobal()
	t.b.DefaultCertificate()
	for _, ing := range ings {
		t.b.Ingress(ing)
	}
	t.streams()
	t.defaultBackend()
	t.gatewayAPI()
	t.certHealth()
	t.finish()
	t.pol.FinishTracing()
	t.Certs.Sweep()
	t.pol.SweepWAF()
}

// sortedDiags returns the snapshot's diagnostics and translate's, sorted;
// t.Diags keeps its order.
func (t *translator) sortedDiags() []diag.Diagnostic {
	return diagmerge.Merge(t.Snapshot.Diagnostics, t.Diags)
}

// translator is one translate: the state its passes share, the passes
// over Ingresses, and what translate itself keeps.
type translator struct {
	*core.State
	// pol reads each Ingress's annotations (package policy).
	pol *policy.Extractor
	// b builds the Ingresses' hosts (package ingress).
	b *ingress.Builder
	// claims are the Ingresses of our class (class.go).
	claims map[*networkingv1.Ingress]bool
	// gwHosts are the Gateway API's hosts (gatewayapi.go).
	gwHosts []*routecfg.VirtualHost
	// gwUses is what the Gateway API step named that Ingresses may
	// name too (gatewayapi.go), for UpdateIngresses.
	gwUses gwUses
}

// finish completes the Ingresses' hosts, then adds the Gateway API's.
func (t *translator) finish() {
	t.b.Finish()
	t.finishGatewayHosts()
}

// claimedIngresses returns the Ingresses of our class, oldest first (the
// order in which ingress-nginx resolves every conflict), ties by
// namespace/name.
func (t *translator) claimedIngresses() []*networkingv1.Ingress {
	return t.claim(t.Snapshot.Ingresses)
}

// claim returns those of ings that are of our class, oldest first,
// recording each claim and each class diagnostic in the order of ings.
func (t *translator) claim(ings []*networkingv1.Ingress) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, ing := range ings {
		ok, d := t.classMatches(ing)
		if d != nil {
			t.Add(*d)
		}
		if ok {
			out = append(out, ing)
			t.claims[ing] = true
		}
	}
	sortByAge(out)
	return out
}

func sortByAge(out []*networkingv1.Ingress) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		// Equal ages: "namespace/name" descending, as ingress-nginx's
		// sortIngressSlice (store.go) breaks the tie.
		return nsNameAfter(a.Namespace, a.Name, b.Namespace, b.Name)
	})
}

// nsNameAfter reports whether an+"/"+a sorts after bn+"/"+b, without
// building the strings (file-mode Ingresses have no creation time, so
// every comparison is a tie).
func nsNameAfter(an, a, bn, b string) bool {
	if an == bn {
		return a > b
	}
	// The namespaces differ: the first differing byte decides, where the
	// shorter one continues with '/'.
	n := min(len(an), len(bn))
	if an[:n] != bn[:n] {
		return an > bn
	}
	if len(an) > n {
		return an[n] > '/'
	}
	return '/' > bn[n]
}

// Claimed reports which Ingresses of the snapshot moat serves, by
// "namespace/name"; the status writer uses it.
func Claimed(sn *store.Snapshot, opts Options) map[string]bool {
	t := &translator{State: &core.State{Snapshot: sn, Opts: opts}, claims: map[*networkingv1.Ingress]bool{}}
	m := map[string]bool{}
	for _, ing := range t.claimedIngresses() {
		m[ing.Namespace+"/"+ing.Name] = true
	}
	return m
}
