// Package translate is moat's pure step: an immutable snapshot of Kubernetes
// objects in, a routing configuration and diagnostics out. No clients, no
// logging, no clock: everything it needs comes in through Options.
package translate

import (
	"net/netip"
	"sort"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
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
	Certs *CertCache
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
	// pointing back at moat is reported (auth_self.go); zero: unknown.
	Listeners Listeners
	// TCPServices and UDPServices are "namespace/name" of the
	// tcp-services and udp-services ConfigMaps (streams.go); "": none.
	TCPServices, UDPServices string
}

// Listeners are the addresses moat serves on ("host:port"; "" for none).
type Listeners struct {
	HTTP, HTTPS, Admin string
	// Debug is --debug-addr's listener ("" for none).
	Debug string
}

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
	return t.cfg, t.sortedDiags()
}

func newTranslator(sn *store.Snapshot, opts Options) *translator {
	t := &translator{
		sn:     sn,
		opts:   opts,
		cfg:    &routecfg.Config{Pools: map[string]*routecfg.Pool{}, Certificates: map[string]*routecfg.Certificate{}},
		hosts:  map[string]*hostBuilder{},
		certs:  opts.Certs,
		claims: map[*networkingv1.Ingress]bool{},
	}
	if t.certs == nil {
		t.certs = NewCertCache()
	}
	return t
}

// run is a full translate; t.diags are translate's own diagnostics in the
// order they were found (the snapshot's are added by sortedDiags).
func (t *translator) run() {
	ings := t.claimedIngresses()
	t.loadControllerConfig()
	t.checkWAFGlobal()
	t.defaultCertificate()
	for _, ing := range ings {
		t.ingress(ing)
	}
	t.streams()
	t.defaultBackend()
	t.gatewayAPI()
	t.certHealth()
	t.finish()
	t.finishTracing()
	t.certs.sweep()
	t.wafCache().Sweep()
}

// sortedDiags returns the snapshot's diagnostics and translate's, sorted;
// t.diags keeps its order.
func (t *translator) sortedDiags() []diag.Diagnostic {
	return mergeDiags(t.sn.Diagnostics, t.diags)
}

func mergeDiags(source, own []diag.Diagnostic) []diag.Diagnostic {
	out := make([]diag.Diagnostic, 0, len(source)+len(own))
	out = append(append(out, source...), own...)
	diag.Sort(out)
	return out
}

type translator struct {
	sn       *store.Snapshot
	opts     Options
	cfg      *routecfg.Config
	hosts    map[string]*hostBuilder
	catchAll *hostBuilder
	certs    *CertCache
	// ctrl is the parsed controller ConfigMap (controller.go).
	ctrl   controllerconfig.Config
	waf    wafState
	claims map[*networkingv1.Ingress]bool
	diags  []diag.Diagnostic
	// hostAnns are the Ingresses with server-level annotations
	// (hostannotations.go).
	hostAnns map[*networkingv1.Ingress]*hostAnn
	// pendingCanaries wait until every main route exists (canary.go).
	pendingCanaries []pendingCanary
	// defaults are the controller-wide route settings (defaults.go).
	defaults *routecfg.TrafficDefaults
	// tracedIngress is set when an Ingress turns tracing on (tracing.go).
	tracedIngress bool
	// gwHosts are the Gateway API's hosts (gatewayapi.go).
	gwHosts []*routecfg.VirtualHost
	// gwUses is what the Gateway API step named that Ingresses may
	// name too (gatewayapi.go), for UpdateIngresses.
	gwUses gwUses
	// refIng and refOf memoise ref for the last Ingress asked.
	refIng *networkingv1.Ingress
	refOf  diag.ObjectRef
}

func (t *translator) add(d diag.Diagnostic) { t.diags = append(t.diags, d) }

func (t *translator) ref(ing *networkingv1.Ingress) diag.ObjectRef {
	// One Ingress is asked for many times in a row (per rule, path and
	// backend); the origin lookup in 30,000 objects was a tenth of
	// translate.
	if ing != t.refIng {
		t.refIng, t.refOf = ing, t.sn.Ref(store.KindIngress, ing.Namespace, ing.Name)
	}
	return t.refOf
}

// claimedIngresses returns the Ingresses of our class, oldest first (the
// order in which ingress-nginx resolves every conflict), ties by
// namespace/name.
func (t *translator) claimedIngresses() []*networkingv1.Ingress {
	return t.claim(t.sn.Ingresses)
}

// claim returns those of ings that are of our class, oldest first,
// recording each claim and each class diagnostic in the order of ings.
func (t *translator) claim(ings []*networkingv1.Ingress) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, ing := range ings {
		ok, d := t.classMatches(ing)
		if d != nil {
			t.add(*d)
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
	t := &translator{sn: sn, opts: opts, claims: map[*networkingv1.Ingress]bool{}}
	m := map[string]bool{}
	for _, ing := range t.claimedIngresses() {
		m[ing.Namespace+"/"+ing.Name] = true
	}
	return m
}
