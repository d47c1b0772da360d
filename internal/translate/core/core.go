// Package core is the state one translate shares between its passes:
// the options, the snapshot, the config being built, the parsed
// controller ConfigMap and the diagnostics found so far, with the few
// helpers every pass uses (object references, annotation keys, Secrets
// as certificates). The passes (package policy for annotations, package
// ingress for hosts and routes, the Gateway API adapter in translate)
// each embed *State, so they share one config without importing each
// other.
package core

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/certs"
	"github.com/moat-ingress/moat/internal/waf"
)

// Options are the controller settings translate depends on.
type Options struct {
	// IngressClass is the class name moat answers to (--ingress-class).
	IngressClass string
	// ControllerClass is matched against IngressClass.spec.controller.
	ControllerClass string
	// WatchWithoutClass serves Ingresses that name no class.
	WatchWithoutClass bool
	// DefaultSSLCertificate is "namespace/name" of a Secret, or "".
	DefaultSSLCertificate string
	// AnnotationPrefix defaults to nginx.ingress.kubernetes.io.
	AnnotationPrefix string
	// EnableSSLPassthrough honours the ssl-passthrough annotation
	// (--enable-ssl-passthrough); without it the annotation is reported.
	EnableSSLPassthrough bool
	// ConfigMap is "namespace/name" of the controller ConfigMap
	// (--configmap), read from the snapshot; "" uses the defaults.
	ConfigMap string
	// Now is used for certificate validity diagnostics only.
	Now time.Time
	// Certs memoises certificate parsing across runs; may be nil.
	Certs *certs.Cache
	// DefaultBackendService is "namespace/name" of the Service that
	// answers unmatched requests and the ConfigMap's custom-http-errors
	// (--default-backend-service), or "" for the built-in 404.
	DefaultBackendService string
	// WAF memoises compiled WAF rule sets across runs (the Core Rule Set
	// takes seconds); may be nil.
	WAF *waf.Cache
	// GatewayControllerName is matched against GatewayClass
	// spec.controllerName (--gateway-controller-name); "" is
	// gateway.DefaultControllerName.
	GatewayControllerName string
	// GatewayAddressPool, when valid (--gateway-address-pool), gives
	// each Gateway an address of its own, served as Config.Listeners.
	GatewayAddressPool netip.Prefix
	// Listeners are moat's own bound addresses, so that an auth-url
	// pointing back at moat is reported (policy/auth_self.go); zero: unknown.
	Listeners Listeners
	// TCPServices and UDPServices are "namespace/name" of the
	// tcp-services and udp-services ConfigMaps (package streams); "": none.
	TCPServices, UDPServices string
}

// Listeners are the addresses moat serves on ("host:port"; "" for none).
type Listeners struct {
	HTTP, HTTPS, Admin string
	// Debug is --debug-addr's listener ("" for none).
	Debug string
}

// State is one translate's shared state.
type State struct {
	Snapshot *store.Snapshot
	Opts     Options
	Config   *routecfg.Config
	// Certs is Opts.Certs, or a cache of this translate's own.
	Certs *certs.Cache
	// Ctrl is the parsed controller ConfigMap.
	Ctrl controllerconfig.Config
	// Diags are translate's own diagnostics in the order they were
	// found (the snapshot's are added when the result is sorted).
	Diags []diag.Diagnostic
	// refIng and refOf memoise Ref for the last Ingress asked.
	refIng *networkingv1.Ingress
	refOf  diag.ObjectRef
}

// New returns the state for translating sn: an empty config and the
// certificate cache of opts (or a new one).
func New(sn *store.Snapshot, opts Options) *State {
	s := &State{
		Snapshot: sn,
		Opts:     opts,
		Config:   &routecfg.Config{Pools: map[string]*routecfg.Pool{}, Certificates: map[string]*routecfg.Certificate{}},
		Certs:    opts.Certs,
	}
	if s.Certs == nil {
		s.Certs = certs.New()
	}
	return s
}

// Add records a diagnostic.
func (s *State) Add(d diag.Diagnostic) { s.Diags = append(s.Diags, d) }

// Ref is the diagnostic object of an Ingress.
func (s *State) Ref(ing *networkingv1.Ingress) diag.ObjectRef {
	// One Ingress is asked for many times in a row (per rule, path and
	// backend); the origin lookup in 30,000 objects was a tenth of
	// translate.
	if ing != s.refIng {
		s.refIng, s.refOf = ing, s.Snapshot.Ref(store.KindIngress, ing.Namespace, ing.Name)
	}
	return s.refOf
}

// AnnKey is the full key of annotation name under the configured prefix.
func (s *State) AnnKey(name string) string {
	p := s.Opts.AnnotationPrefix
	if p == "" {
		p = annotations.DefaultPrefix
	}
	return p + "/" + name
}

// AnnDiag records a diagnostic about annotation key of r's object.
func (s *State) AnnDiag(r *annotations.Reader, key string, sev diag.Severity, reason, msg string) {
	s.Add(diag.Diagnostic{Object: r.Object, Severity: sev, Reason: reason, Field: "metadata.annotations." + r.FullKey(key), Message: msg})
}

// SameNamespace resolves "name" or "namespace/name" for an object an
// Ingress refers to; other namespaces are refused, as for TLS Secrets.
func (s *State) SameNamespace(r *annotations.Reader, ing *networkingv1.Ingress, key, ref, kind string) (string, bool) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return ing.Namespace + "/" + ref, true
	}
	if ns != ing.Namespace {
		s.AnnDiag(r, key, diag.Error, "AnnotationCrossNamespace",
			fmt.Sprintf("%s %s is in another namespace: an Ingress can only use %ss of its own namespace (%s)", kind, ref, kind, ing.Namespace))
		return "", false
	}
	return ns + "/" + name, true
}

// ErrNotFound is LoadSecret's error for a missing Secret.
var ErrNotFound = errors.New("not found")

// LoadSecret returns the certificate of namespace/name, registering it in
// the config. The error names what is wrong with the Secret.
func (s *State) LoadSecret(ns, name string) (*routecfg.Certificate, *corev1.Secret, error) {
	ref := ns + "/" + name
	sec, ok := s.Snapshot.Secrets[ref]
	if !ok {
		return nil, nil, ErrNotFound
	}
	if c, ok := s.Config.Certificates[ref]; ok {
		return c, sec, nil
	}
	crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		missing := []string{}
		if len(crt) == 0 {
			missing = append(missing, "tls.crt")
		}
		if len(key) == 0 {
			missing = append(missing, "tls.key")
		}
		return nil, sec, fmt.Errorf("secret %s has no %s", ref, strings.Join(missing, " or "))
	}
	cert, err := s.Certs.ParseSecret(sec, crt, key)
	if err != nil {
		return nil, sec, fmt.Errorf("secret %s: tls.crt/tls.key are not a valid key pair: %v", ref, err)
	}
	c := &routecfg.Certificate{Ref: ref, Cert: cert}
	s.Config.Certificates[ref] = c
	return c, sec, nil
}

// SortedKeys are m's keys in order.
func SortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
