// Package gateway is translate's pure Gateway API step: GatewayClass,
// Gateway, HTTPRoute and ReferenceGrant objects of a snapshot in; routes
// per host for the same routing model (routecfg) Ingress produces, the
// status the specification asks for, and diagnostics out. Services and
// Secrets are resolved through translate (Resolver), so pools and
// certificates are built by the same code for both APIs.
//
// This package attaches routes to listeners and owns the statuses; the
// parts that stand alone are subpackages: listener (listener checks),
// httprule (a rule's matches and filters as route fields), backendtls
// (BackendTLSPolicy) and addrpool (Gateway addresses).
package gateway

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway/addrpool"
	"github.com/moat-ingress/moat/internal/translate/gateway/backendtls"
	"github.com/moat-ingress/moat/internal/translate/gateway/httprule"
	"github.com/moat-ingress/moat/internal/translate/gateway/listener"
)

// DefaultControllerName is the GatewayClass controllerName moat claims.
const DefaultControllerName = "moat.dev/gateway-controller"

// Group is the Gateway API group.
const Group = "gateway.networking.k8s.io"

// Options are the settings the step depends on.
type Options struct {
	// ControllerName is matched against GatewayClass spec.controllerName
	// (--gateway-controller-name); "" is DefaultControllerName.
	ControllerName string
	// Now stamps the conditions' lastTransitionTime.
	Now time.Time
	// Timeouts are the controller's upstream timeouts, which a rule's
	// timeouts start from.
	Timeouts routecfg.Timeouts
	// AddressPool, when valid (--gateway-address-pool), gives each
	// Gateway an address of its own: its hosts go to Output.Sockets
	// instead of Output.Hosts (addresses.go).
	AddressPool netip.Prefix
}

// Resolver builds pools and certificates with translate's code.
type Resolver interface {
	// ServicePool returns the key of the pool of Service ns/name port
	// (registering it) spoken to in proto, or "" with the reason it
	// cannot be built.
	ServicePool(ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol) (key, problem string)
	// Certificate loads Secret ns/name as a certificate and returns its
	// key into Config.Certificates, or the reason it cannot.
	Certificate(ns, name string) (ref, problem string)
	// TLSServicePool is ServicePool for a pool spoken to over TLS with
	// u (BackendTLSPolicy); suffix tells the pool's key apart.
	TLSServicePool(ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol, u *routecfg.UpstreamTLS, suffix string) (key, problem string)
	// ClientCertificate loads Secret ns/name as a key pair moat presents
	// to backends, or the reason it cannot.
	ClientCertificate(ns, name string) (cert *tls.Certificate, problem string)
}

// Host is the routes of one host name ("" for any host), in match order.
type Host struct {
	Name   string
	Routes []*routecfg.Route
	// Certificate is the key of the certificate an HTTPS listener gives
	// the host, "" for none.
	Certificate string
	// Passthrough forwards the host's TLS unterminated (TLSRoute).
	Passthrough *routecfg.Passthrough
	// Source names the first route, for diagnostics about the host.
	Source diag.ObjectRef
}

// Output is the result of Translate.
type Output struct {
	Hosts []*Host
	// Sockets are the ports of Gateways with an address of their own
	// (Options.AddressPool), sorted by address and port.
	Sockets []*Socket
	// DefaultCertificate is the certificate of an HTTPS listener without
	// hostname, "" for none.
	DefaultCertificate string
	Status             Status
	Diags              []diag.Diagnostic
	// RouteHosts are the host keys each route ("Kind/namespace/name")
	// attached on, served or not: the hosts its change can touch.
	RouteHosts map[string][]string
}

// Status is the status of every object the controller owns, keyed by
// "namespace/name" (GatewayClasses by name).
type Status struct {
	GatewayClasses map[string]gatewayv1.GatewayClassStatus
	Gateways       map[string]gatewayv1.GatewayStatus
	HTTPRoutes     map[string]gatewayv1.HTTPRouteStatus
	TLSRoutes      map[string]gatewayv1.TLSRouteStatus
	GRPCRoutes     map[string]gatewayv1.GRPCRouteStatus
	// BackendTLSPolicies has the policies some route of ours reaches.
	BackendTLSPolicies map[string]gatewayv1.PolicyStatus
}

// Any reports whether the snapshot holds Gateway API objects.
func Any(sn *store.Snapshot) bool { return len(sn.GatewayAPI) > 0 }

// Translate turns the snapshot's Gateway API objects into routes. res may
// be nil (status only): backends are then checked but no pool is built.
func Translate(sn *store.Snapshot, opts Options, res Resolver) Output {
	if opts.ControllerName == "" {
		opts.ControllerName = DefaultControllerName
	}
	t := &translator{sn: sn, opts: opts, res: res, hosts: map[string]*Host{},
		out: Output{Status: Status{GatewayClasses: map[string]gatewayv1.GatewayClassStatus{},
			Gateways: map[string]gatewayv1.GatewayStatus{}, HTTPRoutes: map[string]gatewayv1.HTTPRouteStatus{},
			TLSRoutes: map[string]gatewayv1.TLSRouteStatus{}, GRPCRoutes: map[string]gatewayv1.GRPCRouteStatus{}}}}
	t.collect()
	t.classes()
	t.gateways()
	t.backendTLSPolicies()
	t.backendClientCertificates()
	t.routes()
	t.tlsPolicyStatus()
	for key, ls := range t.listeners {
		st := t.out.Status.Gateways[key]
		for _, l := range ls {
			st.Listeners = append(st.Listeners, *l.Status)
		}
		t.out.Status.Gateways[key] = st
	}
	t.finish()
	t.out.RouteHosts = t.touched
	return t.out
}

type translator struct {
	sn    *store.Snapshot
	opts  Options
	res   Resolver
	out   Output
	hosts map[string]*Host

	classesOurs map[string]*gatewayv1.GatewayClass
	gws         []*gatewayv1.Gateway
	httpRoutes  []*gatewayv1.HTTPRoute
	tlsRoutes   []*gatewayv1.TLSRoute
	grpcRoutes  []*gatewayv1.GRPCRoute
	grants      []*gatewayv1.ReferenceGrant
	// lc checks listeners; listeners of our Gateways by "namespace/name".
	lc        *listener.Checker
	listeners map[string][]*listener.Listener
	entries   []*httprule.Entry
	// With an address pool: each Gateway's address, or why it has none,
	// and the sockets by sockKey (addresses.go). sockets is nil without
	// a pool.
	addrs        map[string]netip.Addr
	addrProblems map[string]addrpool.Problem
	sockets      map[string]*Socket
	// BackendTLSPolicies, and the ones that apply by target.
	tlsPolicies *backendtls.Policies
	// clientCerts are Gateways' spec.tls.backend client certificates.
	clientCerts   map[string]*clientCert
	certConflicts map[diag.ObjectRef]bool // routes reported once
	// cur is the route being translated ("Kind/namespace/name") and
	// touched the hosts each route attached on (Output.RouteHosts).
	cur     string
	touched map[string][]string
}

// touch records that the current route attached on host.
func (t *translator) touch(host string) {
	if t.touched == nil {
		t.touched = map[string][]string{}
	}
	hs := t.touched[t.cur]
	if !slices.Contains(hs, host) {
		t.touched[t.cur] = append(hs, host)
	}
}

func (t *translator) add(d diag.Diagnostic) { t.out.Diags = append(t.out.Diags, d) }

func (t *translator) cond(typ, reason, msg string, ok bool, gen int64) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen,
		LastTransitionTime: metav1.NewTime(t.opts.Now)}
}

func (t *translator) collect() {
	t.classesOurs = map[string]*gatewayv1.GatewayClass{}
	t.listeners = map[string][]*listener.Listener{}
	keys := make([]store.Key, 0, len(t.sn.GatewayAPI))
	for k := range t.sn.GatewayAPI {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name)) < 0
	})
	for _, k := range keys {
		switch o := t.sn.GatewayAPI[k].(type) {
		case *gatewayv1.GatewayClass:
			if string(o.Spec.ControllerName) == t.opts.ControllerName {
				t.classesOurs[o.Name] = o
			}
		case *gatewayv1.Gateway:
			t.gws = append(t.gws, o)
		case *gatewayv1.HTTPRoute:
			t.httpRoutes = append(t.httpRoutes, o)
		case *gatewayv1.ReferenceGrant:
			t.grants = append(t.grants, o)
		case *gatewayv1.TLSRoute:
			t.tlsRoutes = append(t.tlsRoutes, o)
		case *gatewayv1.GRPCRoute:
			t.grpcRoutes = append(t.grpcRoutes, o)
		}
	}
}

// features are the Gateway API features moat implements so far,
// published in GatewayClass status.supportedFeatures (sorted).
var features = []gatewayv1.FeatureName{
	"Gateway", "HTTPRoute", "HTTPRouteHostRewrite", "HTTPRouteMethodMatching", "HTTPRoutePathRedirect",
	"HTTPRoutePathRewrite", "HTTPRoutePortRedirect", "HTTPRouteQueryParamMatching", "HTTPRouteResponseHeaderModification",
	"HTTPRouteSchemeRedirect", "HTTPRoute303RedirectStatusCode", "HTTPRoute307RedirectStatusCode",
	"HTTPRoute308RedirectStatusCode", "HTTPRouteParentRefPort", "HTTPRouteBackendRequestHeaderModification", "ReferenceGrant",
	"HTTPRouteRequestTimeout", "HTTPRouteBackendTimeout", "HTTPRouteCORS",
	"TLSRoute", "GRPCRoute",
	"HTTPRouteRequestMirror", "HTTPRouteRequestMultipleMirrors", "HTTPRouteRequestPercentageMirror",
	"HTTPRouteRetry", "HTTPRouteRetryBackendTimeout", "HTTPRouteRetryConnectionError",
	"TLSRouteModeTerminate", "TLSRouteModeMixed",
	"BackendTLSPolicy", "BackendTLSPolicySANValidation", "GatewayBackendClientCertificate",
	// Passed in the conformance run (docs/conformance): rule names are
	// accepted, WebSocket upgrades proxied.
	"HTTPRouteNamedRouteRule", "GRPCRouteNamedRouteRule", "HTTPRouteBackendProtocolWebSocket",
}

func (t *translator) classes() {
	fs := slices.Clone(features)
	if t.opts.AddressPool.IsValid() {
		// Any port binds on a Gateway's own address, and an empty
		// spec.addresses value asks the pool for one.
		// Its HTTP listeners speak h2c, which HTTPRouteBackendProtocolH2C's
		// client sends.
		// A requested address of the pool is honoured, one outside it is
		// AddressNotUsable.
		fs = append(fs, "GatewayPort8080", "GatewayAddressEmpty", "HTTPRouteBackendProtocolH2C", "GatewayStaticAddresses")
	}
	slices.Sort(fs)
	for name, gc := range t.classesOurs {
		var st gatewayv1.GatewayClassStatus
		if gc.Spec.ParametersRef != nil {
			st.Conditions = []metav1.Condition{t.cond("Accepted", "InvalidParameters",
				"moat takes no parameters (parametersRef is set)", false, gc.Generation)}
			t.add(diag.Diagnostic{Object: t.sn.Ref(store.KindGatewayClass, "", name), Severity: diag.Error, Reason: "InvalidParameters",
				Field: "spec.parametersRef", Message: "moat takes no GatewayClass parameters; the class is not accepted"})
			delete(t.classesOurs, name)
		} else {
			st.Conditions = []metav1.Condition{t.cond("Accepted", "Accepted", "", true, gc.Generation)}
		}
		for _, f := range fs {
			st.SupportedFeatures = append(st.SupportedFeatures, gatewayv1.SupportedFeature{Name: f})
		}
		t.out.Status.GatewayClasses[name] = st
	}
}

func ptr[T any](v T) *T { return &v }

func (t *translator) gateways() {
	t.lc = listener.NewChecker(t.sn, t.cond, t.add, t.granted, t.res)
	if t.opts.AddressPool.IsValid() {
		var ours []*gatewayv1.Gateway
		for _, gw := range t.gws {
			if _, ok := t.classesOurs[string(gw.Spec.GatewayClassName)]; ok {
				ours = append(ours, gw)
			}
		}
		t.assignAddresses(ours)
	}
	for _, gw := range t.gws {
		if _, ours := t.classesOurs[string(gw.Spec.GatewayClassName)]; !ours {
			continue
		}
		key := gw.Namespace + "/" + gw.Name
		ref := t.sn.Ref(store.KindGateway, gw.Namespace, gw.Name)
		gen := gw.Generation
		var st gatewayv1.GatewayStatus
		var ls []*listener.Listener
		valid := 0
		for i := range gw.Spec.Listeners {
			l := t.lc.Listener(gw, i, ref)
			ls = append(ls, l)
			if l.OK {
				valid++
			}
		}
		t.lc.Conflicts(ls, ref)
		valid = 0
		for _, l := range ls {
			if l.OK {
				valid++
			}
		}
		accepted := t.cond("Accepted", "Accepted", "", true, gen)
		switch {
		case len(gw.Spec.Addresses) > 0 && t.sockets == nil:
			accepted = t.cond("Accepted", "UnsupportedAddress", "moat does not assign requested addresses yet", false, gen)
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "UnsupportedAddress", Field: "spec.addresses",
				Message: "moat does not assign requested Gateway addresses yet; the Gateway is not served"})
			for _, l := range ls {
				l.OK = false
			}
			valid = 0
		case valid == 0 && len(ls) > 0:
			accepted = t.cond("Accepted", "ListenersNotValid", "no listener is valid", false, gen)
		case valid < len(ls):
			accepted = t.cond("Accepted", "ListenersNotValid", "some listeners are not valid", true, gen)
		}
		programmed := t.cond("Programmed", "Programmed", "", valid > 0, gen)
		if valid == 0 {
			programmed.Reason = "Invalid"
		}
		if t.sockets != nil {
			addrs, ok := t.addressStatus(gw, ref, &accepted, &programmed)
			st.Addresses = addrs
			for _, l := range ls {
				if !ok && l.OK {
					l.OK = false
					l.Status.Conditions[1] = t.cond("Programmed", "Invalid", "the Gateway has no address", false, gen)
				}
			}
			t.openSockets(gw, ls)
		}
		st.Conditions = []metav1.Condition{accepted, programmed}
		// Listener statuses are added once routes are attached.
		t.out.Status.Gateways[key] = st
		t.listeners[key] = ls
	}
}

// granted reports whether a ReferenceGrant in toNS lets objects of
// fromGroup/fromKind in fromNS refer to toGroup/toKind toName.
func (t *translator) granted(fromGroup, fromKind, fromNS, toGroup, toKind, toNS, toName string) bool {
	for _, rg := range t.grants {
		if rg.Namespace != toNS {
			continue
		}
		from := slices.ContainsFunc(rg.Spec.From, func(f gatewayv1.ReferenceGrantFrom) bool {
			return string(f.Group) == fromGroup && string(f.Kind) == fromKind && string(f.Namespace) == fromNS
		})
		to := slices.ContainsFunc(rg.Spec.To, func(x gatewayv1.ReferenceGrantTo) bool {
			return string(x.Group) == toGroup && string(x.Kind) == toKind && (x.Name == nil || *x.Name == "" || string(*x.Name) == toName)
		})
		if from && to {
			return true
		}
	}
	return false
}

func (t *translator) finish() {
	for _, e := range t.entries {
		h, ok := t.hosts[e.Host]
		if !ok {
			h = &Host{Name: hostName(e.Host)}
			t.hosts[e.Host] = h
		}
		if h.Source.Kind == "" {
			h.Source = t.sn.Ref(e.Kind, e.HR.Namespace, e.HR.Name)
		}
	}
	httprule.SortEntries(t.entries)
	for _, e := range t.entries {
		h := t.hosts[e.Host]
		h.Routes = append(h.Routes, e.Route)
	}
	names := make([]string, 0, len(t.hosts))
	for n := range t.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	if t.sockets != nil {
		t.finishSockets(names)
		return
	}
	for _, n := range names {
		t.out.Hosts = append(t.out.Hosts, t.hosts[n])
	}
}

// attach is one route attached to one listener on some hostnames.
type attach struct {
	ln    *listener.Listener
	hosts []string
}

func (t *translator) routes() {
	for _, hr := range t.httpRoutes {
		t.httpRoute(hr)
	}
	// The oldest TLSRoute keeps a hostname two of them pass through.
	sort.SliceStable(t.tlsRoutes, func(i, j int) bool {
		a, b := t.tlsRoutes[i], t.tlsRoutes[j]
		return !a.CreationTimestamp.Equal(&b.CreationTimestamp) && a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
	for _, tr := range t.tlsRoutes {
		t.tlsRoute(tr)
	}
	for _, gr := range t.grpcRoutes {
		t.grpcRoute(gr)
	}
}

// parents attaches a route of kind in namespace rns to the listeners
// of our Gateways its parentRefs name, returning each parent's status
// (Accepted only) and the attachments.
func (t *translator) parents(kind, rns string, ref diag.ObjectRef, gen int64, prs []gatewayv1.ParentReference, hostnames []gatewayv1.Hostname) (out []gatewayv1.RouteParentStatus, attached []attach) {
	for pi, pr := range prs {
		field := fmt.Sprintf("spec.parentRefs[%d]", pi)
		if (pr.Group != nil && string(*pr.Group) != Group) || (pr.Kind != nil && string(*pr.Kind) != "Gateway") {
			continue
		}
		ns := rns
		if pr.Namespace != nil {
			ns = string(*pr.Namespace)
		}
		ls, ours := t.listeners[ns+"/"+string(pr.Name)]
		if !ours {
			continue // not a Gateway of ours: another controller's to report
		}
		ps := gatewayv1.RouteParentStatus{ParentRef: pr, ControllerName: gatewayv1.GatewayController(t.opts.ControllerName)}
		reject := func(reason, msg string) {
			ps.Conditions = append(ps.Conditions, t.cond("Accepted", reason, msg, false, gen))
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: field,
				Message: fmt.Sprintf("Gateway %s/%s: %s; the route is not attached there", ns, pr.Name, msg)})
		}
		var cands []*listener.Listener
		for _, l := range ls {
			if pr.SectionName != nil && l.Spec.Name != *pr.SectionName {
				continue
			}
			if pr.Port != nil && l.Spec.Port != *pr.Port {
				continue
			}
			cands = append(cands, l)
		}
		var allowed []*listener.Listener
		for _, l := range cands {
			if (l.OK || l.Accepted) && t.lc.Allows(l, kind, rns) {
				allowed = append(allowed, l)
			}
		}
		var here []attach
		for _, l := range allowed {
			if hs, ok := listener.Intersect(l.Hostname, hostnames); ok {
				here = append(here, attach{l, hs})
			}
		}
		switch {
		case len(cands) == 0:
			reject("NoMatchingParent", "no listener matches the sectionName/port")
		case len(allowed) == 0:
			reject("NotAllowedByListeners", "no listener allows routes from namespace "+rns)
		case len(here) == 0:
			reject("NoMatchingListenerHostname", "no listener hostname intersects the route's hostnames")
		default:
			ps.Conditions = append(ps.Conditions, t.cond("Accepted", "Accepted", "", true, gen))
			for _, a := range here {
				a.ln.Status.AttachedRoutes++
				if a.ln.OK {
					attached = append(attached, a)
				}
			}
		}
		out = append(out, ps)
	}
	return out, attached
}

func (t *translator) httpRoute(hr *gatewayv1.HTTPRoute) {
	if st, ok := t.serveHTTP(hr, store.KindHTTPRoute, nil); ok {
		t.out.Status.HTTPRoutes[hr.Namespace+"/"+hr.Name] = gatewayv1.HTTPRouteStatus{RouteStatus: st}
	}
}

// serveHTTP attaches and builds an HTTPRoute, or a GRPCRoute written as
// one (kind says which; bad are its rules found invalid before), and
// returns its status, false when no parent is ours.
func (t *translator) serveHTTP(hr *gatewayv1.HTTPRoute, kind string, bad map[int]problemAt) (gatewayv1.RouteStatus, bool) {
	ref := t.sn.Ref(kind, hr.Namespace, hr.Name)
	t.cur = kind + "/" + hr.Namespace + "/" + hr.Name
	gen := hr.Generation
	var st gatewayv1.RouteStatus
	var attached []attach
	st.Parents, attached = t.parents(kind, hr.Namespace, ref, gen, hr.Spec.ParentRefs, hr.Spec.Hostnames)
	if len(st.Parents) == 0 {
		return st, false
	}
	rr := t.rules(hr, kind, ref, attached, bad)
	for i := range st.Parents {
		ps := &st.Parents[i]
		accepted := ps.Conditions[0].Status == metav1.ConditionTrue
		switch {
		case accepted && len(rr.dropped) > 0 && len(rr.dropped) == len(hr.Spec.Rules):
			// No rule can be served: not accepted.
			ps.Conditions[0] = t.cond("Accepted", rr.dropReason, rr.dropMsg, false, gen)
		case accepted && len(rr.dropped) > 0:
			ps.Conditions = append(ps.Conditions, t.cond("PartiallyInvalid", "UnsupportedValue",
				"Dropped Rule(s): "+strings.Join(rr.dropped, "; "), true, gen))
		}
		c := t.cond("ResolvedRefs", "ResolvedRefs", "", true, gen)
		if rr.refReason != "" {
			c = t.cond("ResolvedRefs", rr.refReason, rr.refMsg, false, gen)
		}
		// Accepted, ResolvedRefs, then PartiallyInvalid when set.
		ps.Conditions = slices.Insert(ps.Conditions, 1, c)
	}
	return st, true
}

// problemAt is a rule problem found before the rule is built.
type problemAt struct{ reason, msg, field string }

// ruleResult is what rules reports for the route's status.
type ruleResult struct {
	// refReason and refMsg are the first ResolvedRefs problem ("": none).
	refReason, refMsg string
	// dropped describes the rules not served; dropReason and dropMsg are
	// the first one's.
	dropped             []string
	dropReason, dropMsg string
}

// backendFilters returns the filters that apply to every request of
// rule: its own, followed by its backendRefs' header modifiers when every
// backendRef carries the same ones (a single backendRef, say), which is
// then the same as the rule carrying them. hoisted is false when
// backendRefs carry other or differing filters; differing
// RequestHeaderModifiers are then applied per backend (Backend.Headers).
func backendFilters(rule *gatewayv1.HTTPRouteRule) (filters []gatewayv1.HTTPRouteFilter, hoisted bool) {
	brs := rule.BackendRefs
	if len(brs) == 0 || len(brs[0].Filters) == 0 {
		return rule.Filters, false
	}
	for _, f := range brs[0].Filters {
		if f.Type != gatewayv1.HTTPRouteFilterRequestHeaderModifier && f.Type != gatewayv1.HTTPRouteFilterResponseHeaderModifier {
			return rule.Filters, false
		}
	}
	for _, br := range brs[1:] {
		if !equality.Semantic.DeepEqual(br.Filters, brs[0].Filters) {
			return rule.Filters, false
		}
	}
	return append(slices.Clip(rule.Filters), brs[0].Filters...), true
}

// requestHeadersOnly reports whether fs are all RequestHeaderModifiers,
// the one filter a backendRef may carry alone (routecfg.Backend.Headers).
func requestHeadersOnly(fs []gatewayv1.HTTPRouteFilter) bool {
	for _, f := range fs {
		if f.Type != gatewayv1.HTTPRouteFilterRequestHeaderModifier {
			return false
		}
	}
	return true
}

// requestHeaders is the header modifier of a backendRef's filters, nil
// for none.
func requestHeaders(fs []gatewayv1.HTTPRouteFilter) *routecfg.Headers {
	var hh routecfg.Headers
	for _, f := range fs {
		if m := f.RequestHeaderModifier; m != nil {
			for _, h := range m.Set {
				hh.Upstream = append(hh.Upstream, routecfg.Header{Name: string(h.Name), Value: h.Value})
			}
			for _, h := range m.Add {
				hh.UpstreamAdd = append(hh.UpstreamAdd, routecfg.Header{Name: string(h.Name), Value: h.Value})
			}
			for _, n := range m.Remove {
				hh.Upstream = append(hh.Upstream, routecfg.Header{Name: n})
			}
		}
	}
	if hh.Empty() {
		return nil
	}
	return &hh
}

// rules builds the routes of hr on each attachment. A rule moat cannot
// serve as written is dropped whole (Gateway API's "Dropped Rule"); an
// unresolvable backend keeps its weight and answers 500.
func (t *translator) rules(hr *gatewayv1.HTTPRoute, kind string, ref diag.ObjectRef, attached []attach, bad map[int]problemAt) ruleResult {
	var rr ruleResult
	problem := func(r, m, field string) {
		if rr.refReason == "" {
			rr.refReason, rr.refMsg = r, m
		}
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: r, Field: field, Message: m})
	}
	type built struct {
		backends []routecfg.Backend
		policy   *routecfg.RoutePolicy
		redirect *routecfg.URLRedirect
		rewrite  *gatewayv1.HTTPURLRewriteFilter
		cors     *routecfg.CORS
		mirrors  []routecfg.Mirror
		bad      bool
	}
	rules := make([]built, len(hr.Spec.Rules))
	for ri := range hr.Spec.Rules {
		rule := &hr.Spec.Rules[ri]
		field := fmt.Sprintf("spec.rules[%d]", ri)
		b := &rules[ri]
		drop := func(reason, msg, f string) {
			if b.bad {
				return // one reason per rule
			}
			b.bad = true
			if rr.dropReason == "" {
				rr.dropReason, rr.dropMsg = reason, msg
			}
			rr.dropped = append(rr.dropped, field+": "+msg)
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: f, Message: msg + "; the rule is not served"})
		}
		if p, ok := bad[ri]; ok {
			drop(p.reason, p.msg, p.field)
		}
		filters, hoisted := backendFilters(rule)
		checked := *rule
		checked.Filters = filters
		if msg, f := httprule.CheckFilters(&checked, field); msg != "" {
			drop("UnsupportedValue", msg, f)
		}
		var hh routecfg.Headers
		prefixOnly := false
		for fi, f := range filters {
			ff := fmt.Sprintf("%s.filters[%d]", field, fi)
			switch f.Type {
			case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
				if m := f.RequestHeaderModifier; m != nil {
					for _, h := range m.Set {
						hh.Upstream = append(hh.Upstream, routecfg.Header{Name: string(h.Name), Value: h.Value})
					}
					for _, h := range m.Add {
						hh.UpstreamAdd = append(hh.UpstreamAdd, routecfg.Header{Name: string(h.Name), Value: h.Value})
					}
					for _, n := range m.Remove {
						hh.Upstream = append(hh.Upstream, routecfg.Header{Name: n})
					}
				}
			case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
				if m := f.ResponseHeaderModifier; m != nil {
					for _, h := range m.Set {
						hh.Set = append(hh.Set, routecfg.Header{Name: string(h.Name), Value: h.Value})
					}
					for _, h := range m.Add {
						hh.Add = append(hh.Add, routecfg.Header{Name: string(h.Name), Value: h.Value, Always: true})
					}
					for _, n := range m.Remove {
						hh.Set = append(hh.Set, routecfg.Header{Name: n})
					}
				}
			case gatewayv1.HTTPRouteFilterRequestRedirect:
				if r := f.RequestRedirect; r != nil {
					b.redirect = httprule.Redirect(r)
					prefixOnly = prefixOnly || (r.Path != nil && r.Path.Type == gatewayv1.PrefixMatchHTTPPathModifier)
				}
			case gatewayv1.HTTPRouteFilterURLRewrite:
				if rw := f.URLRewrite; rw != nil {
					b.rewrite = rw
					if rw.Hostname != nil {
						hh.UpstreamHost = string(*rw.Hostname)
					}
					prefixOnly = prefixOnly || (rw.Path != nil && rw.Path.Type == gatewayv1.PrefixMatchHTTPPathModifier)
				}
			case gatewayv1.HTTPRouteFilterRequestMirror:
				if f.RequestMirror != nil {
					if m, ok := t.mirror(kind, hr.Namespace, ref, f.RequestMirror, ff+".requestMirror", problem, drop); ok {
						b.mirrors = append(b.mirrors, m)
					}
				}
			case gatewayv1.HTTPRouteFilterCORS:
				if f.CORS != nil {
					c, msg, cf := httprule.CORS(f.CORS, ff+".cors")
					if msg != "" {
						drop("UnsupportedValue", msg, cf)
					}
					b.cors = c
				}
			default:
				drop("UnsupportedValue", fmt.Sprintf("filter type %s is not supported yet", f.Type), ff+".type")
			}
		}
		if b.redirect != nil && b.rewrite != nil {
			drop("IncompatibleFilters", "RequestRedirect and URLRewrite cannot be used together", field+".filters")
		}
		perBackend := false
		for bi, br := range rule.BackendRefs {
			if len(br.Filters) == 0 || hoisted {
				continue
			}
			bf := fmt.Sprintf("%s.backendRefs[%d]", field, bi)
			if !requestHeadersOnly(br.Filters) {
				drop("UnsupportedValue", "filters on a backendRef other than RequestHeaderModifier are not supported yet", bf+".filters")
			} else if msg, f := httprule.CheckFilters(&gatewayv1.HTTPRouteRule{Filters: br.Filters}, bf); msg != "" {
				drop("UnsupportedValue", msg, f)
			}
			perBackend = true
		}
		// Validate the matches once, before any attachment.
		for mi := range rule.Matches {
			mf := fmt.Sprintf("%s.matches[%d]", field, mi)
			if e := httprule.Match(hr, &rule.Matches[mi], mf, drop); e != nil && prefixOnly && e.Route.Match != routecfg.MatchPrefix {
				drop("UnsupportedValue", "ReplacePrefixMatch needs a PathPrefix match", mf+".path.type")
			}
		}
		if b.bad {
			continue
		}
		tm, msg, tf := httprule.Timeouts(rule.Timeouts, t.opts.Timeouts, field)
		if msg != "" {
			drop("UnsupportedValue", msg, tf)
			continue
		}
		if rule.Retry != nil {
			base := t.opts.Timeouts
			if tm != nil {
				base = *tm
			}
			rtm, msg, rf, ignored := httprule.Retry(rule.Retry, base, field)
			if msg != "" {
				drop("UnsupportedValue", msg, rf)
				continue
			}
			for _, f := range ignored {
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "UnsupportedValue", Field: f,
					Message: "this retry code is not supported (" + httprule.SupportedRetryCodes() + " are); it is not retried"})
			}
			tm = rtm
		}
		b.backends = t.backends(hr, kind, ref, rule, field, problem)
		if perBackend {
			for bi := range rule.BackendRefs {
				b.backends[bi].Headers = requestHeaders(rule.BackendRefs[bi].Filters)
			}
		}
		if !hh.Empty() || tm != nil || b.cors != nil {
			b.policy = &routecfg.RoutePolicy{Timeouts: tm, CORS: b.cors}
			if !hh.Empty() {
				b.policy.Headers = &hh
			}
		}
	}
	for _, a := range attached {
		scheme := routecfg.SchemeHTTP
		if a.ln.Spec.Protocol == gatewayv1.HTTPSProtocolType {
			scheme = routecfg.SchemeHTTPS
		}
		for _, name := range a.hosts {
			host := t.hostKey(a.ln, name)
			t.touch(host)
			t.certFor(host, a.ln)
			for ri := range hr.Spec.Rules {
				b := &rules[ri]
				if b.bad {
					continue
				}
				rule := &hr.Spec.Rules[ri]
				matches := rule.Matches
				if len(matches) == 0 {
					matches = []gatewayv1.HTTPRouteMatch{{}}
				}
				for mi := range matches {
					e := httprule.Match(hr, &matches[mi], "", nil) // validated above
					if e == nil {
						continue
					}
					e.Host, e.RuleIndex, e.MatchIndex, e.Kind = host, ri, mi, kind
					t.entries = append(t.entries, e)
					rt := e.Route
					rt.Conditions.Scheme = scheme
					rt.Backends, rt.Policy, rt.URLRedirect, rt.Mirrors = b.backends, b.policy, b.redirect, b.mirrors
					if len(rule.BackendRefs) > 0 {
						// Logs and metrics name the first backend.
						br := rule.BackendRefs[0]
						rt.Source.Service = string(br.Name)
						if br.Port != nil {
							rt.Source.Port = strconv.Itoa(int(*br.Port))
						}
					}
					if rd := b.redirect; rd != nil && rd.Path != nil && rd.Path.Prefix {
						rd2, pm := *rd, *rd.Path
						pm.Match = rt.Path
						rd2.Path = &pm
						rt.URLRedirect = &rd2
					}
					if rw := b.rewrite; rw != nil && rw.Path != nil {
						switch {
						case rw.Path.Type == gatewayv1.FullPathHTTPPathModifier && rw.Path.ReplaceFullPath != nil:
							rt.PathRewrite = &routecfg.PathModifier{Value: *rw.Path.ReplaceFullPath}
						case rw.Path.Type == gatewayv1.PrefixMatchHTTPPathModifier && rw.Path.ReplacePrefixMatch != nil:
							rt.PathRewrite = &routecfg.PathModifier{Prefix: true, Match: rt.Path, Value: *rw.Path.ReplacePrefixMatch}
						}
					}
					if rt.Backends == nil && rt.URLRedirect == nil {
						// No backendRefs: every request gets 500.
						rt.Backends = []routecfg.Backend{{Status: 500, Weight: 1}}
					}
				}
			}
		}
	}
	return rr
}

// certFor gives host the certificate of the HTTPS listener it is served
// on; a listener without hostname provides the default certificate.
func (t *translator) certFor(host string, l *listener.Listener) {
	if l.Cert == "" {
		return
	}
	if l.Hostname == "" && t.sockets == nil {
		if t.out.DefaultCertificate == "" {
			t.out.DefaultCertificate = l.Cert
		}
	}
	h, ok := t.hosts[host]
	if !ok {
		h = &Host{Name: hostName(host)}
		t.hosts[host] = h
	}
	if h.Certificate == "" && h.Name != "" {
		h.Certificate = l.Cert
	}
}

// backends resolves a rule's backendRefs into weighted backends; an
// invalid one keeps its weight and answers 500.
func (t *translator) backends(hr *gatewayv1.HTTPRoute, kind string, ref diag.ObjectRef, rule *gatewayv1.HTTPRouteRule, field string, problem func(string, string, string)) []routecfg.Backend {
	brs := make([]gatewayv1.BackendRef, len(rule.BackendRefs))
	for i := range rule.BackendRefs {
		brs[i] = rule.BackendRefs[i].BackendRef
	}
	return t.backendRefs(kind, hr.Namespace, ref, brs, field, problem)
}

// backendRefs resolves the backendRefs of a route of kind in namespace
// rns into weighted backends.
func (t *translator) backendRefs(kind, rns string, ref diag.ObjectRef, brs []gatewayv1.BackendRef, field string, problem func(string, string, string)) []routecfg.Backend {
	share := "; its share is answered with 500"
	if kind == "TLSRoute" {
		share = "; its share of connections is closed"
	}
	var out []routecfg.Backend
	for bi, br := range brs {
		out = append(out, t.backendRef(kind, rns, ref, br, fmt.Sprintf("%s.backendRefs[%d]", field, bi), share, problem))
	}
	return out
}

// h2cPort reports whether svc's port says it speaks HTTP/2 in clear text
// (appProtocol kubernetes.io/h2c, HTTPRouteBackendProtocolH2C).
func h2cPort(svc *corev1.Service, port int32) bool {
	if svc == nil {
		return false
	}
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			return p.AppProtocol != nil && *p.AppProtocol == "kubernetes.io/h2c"
		}
	}
	return false
}

// backendRef resolves one backendRef at field bf; share ends the
// messages of its problems.
func (t *translator) backendRef(kind, rns string, ref diag.ObjectRef, br gatewayv1.BackendRef, bf, share string, problem func(string, string, string)) routecfg.Backend {
	// gRPC backends are spoken to in h2c, as backend-protocol GRPC
	// Ingresses' (and share their pools).
	proto, suffix := routecfg.ProtocolHTTP, ""
	if kind == store.KindGRPCRoute {
		proto, suffix = routecfg.ProtocolGRPC, "#"+routecfg.ProtocolGRPC.String()
	}
	w := 1
	if br.Weight != nil {
		w = int(*br.Weight)
	}
	be := routecfg.Backend{Weight: w, Status: 500}
	g, k := "", "Service"
	if br.Group != nil {
		g = string(*br.Group)
	}
	if br.Kind != nil {
		k = string(*br.Kind)
	}
	ns := rns
	if br.Namespace != nil {
		ns = string(*br.Namespace)
	}
	name := string(br.Name)
	if kind == store.KindHTTPRoute && br.Port != nil && h2cPort(t.sn.Services[ns+"/"+name], int32(*br.Port)) {
		// h2c with prior knowledge, as to gRPC backends.
		proto, suffix = routecfg.ProtocolGRPC, "#"+routecfg.ProtocolGRPC.String()
	}
	switch {
	case g != "" || k != "Service":
		problem("InvalidKind", fmt.Sprintf("backendRef kind %s/%s is not supported (Service is)"+share, g, k), bf+".kind")
	case ns != rns && !t.granted(Group, kind, rns, "", "Service", ns, name):
		problem("RefNotPermitted", fmt.Sprintf("Service %s/%s is in another namespace and no ReferenceGrant there allows it"+share, ns, name), bf+".namespace")
	case t.sn.Services[ns+"/"+name] == nil:
		problem("BackendNotFound", fmt.Sprintf("Service %s/%s not found"+share, ns, name), bf+".name")
	case br.Port == nil:
		problem("BackendNotFound", "a backendRef to a Service needs a port"+share, bf+".port")
	case t.res != nil:
		key, why := t.servicePool(kind, ref, bf, ns, name, int32(*br.Port), proto)
		if key == "" {
			problem("BackendNotFound", why+share, bf+".port")
			break
		}
		be.Pool, be.Status = key, 0
	default:
		be.Pool, be.Status = ns+"/"+name+":"+strconv.Itoa(int(*br.Port))+suffix, 0
	}
	return be
}
