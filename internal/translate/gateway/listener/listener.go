// Package listener checks a Gateway's listeners: protocol, allowed
// route kinds and namespaces, certificates, and conflicts between
// listeners on one port; and tells which routes a listener takes and on
// which hostnames. It is separate from the Gateway translation because a
// listener is checked from its Gateway alone, and routes only read the
// result (Listener) to attach.
package listener

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

const group = gatewayv1.GroupName

// Listener is one Gateway listener and what it resolved to.
type Listener struct {
	GW   *gatewayv1.Gateway
	Spec *gatewayv1.Listener // as written
	// Index is the listener's in spec.listeners.
	Index int
	// Status is the listener's; routes count themselves in AttachedRoutes.
	Status *gatewayv1.ListenerStatus
	OK     bool // accepted and programmed: attached routes are served
	// Accepted: Accepted=True with a route kind, so routes attach and are
	// counted in attachedRoutes even when the listener is not served (an
	// unresolved certificateRef, no address).
	Accepted bool
	// Kinds are the route kinds the listener takes.
	Kinds []gatewayv1.RouteGroupKind
	// Cert is the key of the listener's certificate, "" for none.
	Cert string
	// Hostname is the listener's, lower-cased; "" for any host.
	Hostname string
	// nsSel is allowedRoutes.namespaces.selector when from is Selector.
	nsSel labels.Selector
	// Terminate: a TLS listener in mode Terminate.
	Terminate bool
}

// Certificates loads the certificate of a Secret (translate's Resolver).
type Certificates interface {
	// Certificate loads Secret ns/name as a certificate and returns its
	// key, or the reason it cannot.
	Certificate(ns, name string) (ref, problem string)
}

// Checker checks listeners with the translator's condition and
// diagnostic sinks and ReferenceGrants.
type Checker struct {
	sn      *store.Snapshot
	cond    func(typ, reason, msg string, ok bool, gen int64) metav1.Condition
	add     func(diag.Diagnostic)
	granted func(fromGroup, fromKind, fromNS, toGroup, toKind, toNS, toName string) bool
	// res is nil when only the Secrets' presence is checked.
	res Certificates
}

// NewChecker returns a Checker over snapshot sn; res may be nil.
func NewChecker(sn *store.Snapshot, cond func(typ, reason, msg string, ok bool, gen int64) metav1.Condition, add func(diag.Diagnostic),
	granted func(fromGroup, fromKind, fromNS, toGroup, toKind, toNS, toName string) bool, res Certificates) *Checker {
	return &Checker{sn: sn, cond: cond, add: add, granted: granted, res: res}
}

var (
	httpRouteKind = gatewayv1.RouteGroupKind{Group: ptr(gatewayv1.Group(group)), Kind: "HTTPRoute"}
	tlsRouteKind  = gatewayv1.RouteGroupKind{Group: ptr(gatewayv1.Group(group)), Kind: "TLSRoute"}
	grpcRouteKind = gatewayv1.RouteGroupKind{Group: ptr(gatewayv1.Group(group)), Kind: "GRPCRoute"}
)

// KindNames lists route kinds for messages.
func KindNames(ks []gatewayv1.RouteGroupKind) string {
	var b []string
	for _, k := range ks {
		b = append(b, string(k.Kind))
	}
	return strings.Join(b, ", ")
}

func ptr[T any](v T) *T { return &v }

// Listener checks listener i of gw (its Gateway ref) and resolves its
// certificate.
func (t *Checker) Listener(gw *gatewayv1.Gateway, i int, ref diag.ObjectRef) *Listener {
	l := &gw.Spec.Listeners[i]
	gen := gw.Generation
	field := fmt.Sprintf("spec.listeners[%d]", i)
	ln := &Listener{GW: gw, Spec: l, Index: i, OK: true, Status: &gatewayv1.ListenerStatus{Name: l.Name}}
	if l.Hostname != nil {
		ln.Hostname = strings.ToLower(string(*l.Hostname))
	}
	accepted := t.cond("Accepted", "Accepted", "", true, gen)
	resolved := t.cond("ResolvedRefs", "ResolvedRefs", "", true, gen)
	fail := func(c *metav1.Condition, reason, msg, sub string) {
		if c.Status == metav1.ConditionFalse {
			return // the first problem names the condition
		}
		*c = t.cond(c.Type, reason, msg, false, gen)
		ln.OK = false
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: field + sub,
			Message: fmt.Sprintf("listener %q: %s; the listener is not served", l.Name, msg)})
	}
	valid := []gatewayv1.RouteGroupKind{httpRouteKind, grpcRouteKind}
	switch l.Protocol {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType:
	case gatewayv1.TLSProtocolType:
		valid = []gatewayv1.RouteGroupKind{tlsRouteKind}
		if l.TLS == nil {
			fail(&accepted, "UnsupportedValue", "a TLS listener needs tls (mode Passthrough, or Terminate with certificateRefs)", ".tls")
		}
	default:
		fail(&accepted, "UnsupportedProtocol", fmt.Sprintf("protocol %s is not supported yet (HTTP, HTTPS and TLS are)", l.Protocol), ".protocol")
	}
	t.namespaceSelector(ln, &accepted, fail)
	// Route kinds.
	if ar := l.AllowedRoutes; ar != nil && len(ar.Kinds) > 0 {
		for j, k := range ar.Kinds {
			g := group
			if k.Group != nil {
				g = string(*k.Group)
			}
			if i := slices.IndexFunc(valid, func(v gatewayv1.RouteGroupKind) bool { return v.Kind == k.Kind }); g == group && i >= 0 {
				ln.Kinds = append(ln.Kinds, valid[i])
				continue
			}
			// Invalid kinds are left out of supportedKinds; the listener
			// still serves the valid ones.
			if resolved.Status == metav1.ConditionTrue {
				resolved = t.cond("ResolvedRefs", "InvalidRouteKinds", fmt.Sprintf("route kind %s/%s is not supported", g, k.Kind), false, gen)
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "InvalidRouteKinds", Field: fmt.Sprintf("%s.allowedRoutes.kinds[%d]", field, j),
					Message: fmt.Sprintf("listener %q: route kind %s/%s is not supported on protocol %s (%s)", l.Name, g, k.Kind, l.Protocol, KindNames(valid))})
			}
		}
		if len(ln.Kinds) == 0 {
			ln.OK = false
		}
	} else if accepted.Status == metav1.ConditionTrue {
		ln.Kinds = valid
	}
	if l.Protocol == gatewayv1.TLSProtocolType && l.TLS != nil && (l.TLS.Mode == nil || *l.TLS.Mode == gatewayv1.TLSModeTerminate) {
		// TLSRoutes terminated here: the decrypted stream goes to the
		// backend (the mode's default).
		ln.Terminate = true
		if len(l.TLS.CertificateRefs) == 0 {
			fail(&resolved, "InvalidCertificateRef", "a TLS listener in mode Terminate needs tls.certificateRefs", ".tls")
		} else {
			t.certificate(ln, &resolved, fail, field)
		}
	}
	if l.Protocol == gatewayv1.HTTPSProtocolType {
		tc := l.TLS
		switch {
		case tc == nil || len(tc.CertificateRefs) == 0:
			fail(&resolved, "InvalidCertificateRef", "an HTTPS listener needs tls.certificateRefs", ".tls")
		case tc.Mode != nil && *tc.Mode != gatewayv1.TLSModeTerminate:
			fail(&accepted, "UnsupportedValue", "an HTTPS listener terminates TLS (mode Passthrough is for TLS listeners)", ".tls.mode")
		default:
			t.certificate(ln, &resolved, fail, field)
		}
	}
	programmed := t.cond("Programmed", "Programmed", "", ln.OK, gen)
	if !ln.OK {
		programmed.Reason = "Invalid"
	}
	ln.Accepted = accepted.Status == metav1.ConditionTrue && len(ln.Kinds) > 0
	ln.Status.SupportedKinds = ln.Kinds
	if ln.Status.SupportedKinds == nil {
		ln.Status.SupportedKinds = []gatewayv1.RouteGroupKind{}
	}
	ln.Status.Conditions = []metav1.Condition{accepted, programmed, resolved,
		t.cond("Conflicted", "NoConflicts", "", false, gen)}
	return ln
}

// certificate resolves the first certificateRef (moat serves one
// certificate per listener; more are reported).
func (t *Checker) certificate(ln *Listener, resolved *metav1.Condition, fail func(*metav1.Condition, string, string, string), field string) {
	gw := ln.GW
	for j, cr := range ln.Spec.TLS.CertificateRefs {
		sub := fmt.Sprintf(".tls.certificateRefs[%d]", j)
		g, k := "", "Secret"
		if cr.Group != nil {
			g = string(*cr.Group)
		}
		if cr.Kind != nil {
			k = string(*cr.Kind)
		}
		if g != "" || k != "Secret" {
			fail(resolved, "InvalidCertificateRef", fmt.Sprintf("certificateRef kind %s/%s is not supported (Secret is)", g, k), sub)
			return
		}
		ns := gw.Namespace
		if cr.Namespace != nil {
			ns = string(*cr.Namespace)
		}
		if ns != gw.Namespace && !t.granted(group, "Gateway", gw.Namespace, "", "Secret", ns, string(cr.Name)) {
			fail(resolved, "RefNotPermitted", fmt.Sprintf("Secret %s/%s is in another namespace and no ReferenceGrant there allows it", ns, cr.Name), sub)
			return
		}
		if j > 0 {
			continue // checked, but the first one is served
		}
		if t.res == nil {
			if _, ok := t.sn.Secrets[ns+"/"+string(cr.Name)]; !ok {
				fail(resolved, "InvalidCertificateRef", fmt.Sprintf("Secret %s/%s not found", ns, cr.Name), sub)
				return
			}
			ln.Cert = ns + "/" + string(cr.Name)
			continue
		}
		c, problem := t.res.Certificate(ns, string(cr.Name))
		if problem != "" {
			fail(resolved, "InvalidCertificateRef", problem, sub)
			return
		}
		ln.Cert = c
	}
	_ = field
}

// sniShared reports whether two protocols can share a port, told apart
// by SNI: HTTPS and TLS Passthrough (moat's SNI front forwards the
// passthrough names and terminates the rest).
func sniShared(a, b gatewayv1.ProtocolType) bool {
	return a == gatewayv1.HTTPSProtocolType && b == gatewayv1.TLSProtocolType || a == gatewayv1.TLSProtocolType && b == gatewayv1.HTTPSProtocolType
}

// Conflicts marks listeners sharing a port with another protocol, or the
// same port, protocol and hostname (the later one is conflicted).
func (t *Checker) Conflicts(ls []*Listener, ref diag.ObjectRef) {
	for i, a := range ls {
		for _, b := range ls[:i] {
			if a.Spec.Port != b.Spec.Port {
				continue
			}
			reason := ""
			switch {
			case a.Spec.Protocol != b.Spec.Protocol && !sniShared(a.Spec.Protocol, b.Spec.Protocol):
				reason = "ProtocolConflict"
			case a.Hostname == b.Hostname:
				reason = "HostnameConflict"
			default:
				continue
			}
			for _, x := range []*Listener{a, b} {
				gen := x.GW.Generation
				x.OK, x.Accepted = false, false
				x.Status.Conditions[1] = t.cond("Programmed", "Invalid", "the listener conflicts with another", false, gen)
				x.Status.Conditions[3] = t.cond("Conflicted", reason, fmt.Sprintf("listeners %q and %q conflict", b.Spec.Name, a.Spec.Name), true, gen)
			}
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: fmt.Sprintf("spec.listeners[%d]", a.Index),
				Message: fmt.Sprintf("listeners %q and %q share port %d (%s); neither is served", b.Spec.Name, a.Spec.Name, a.Spec.Port, reason)})
		}
	}
}

// Allows reports whether listener l takes routes of kind from namespace ns.
func (t *Checker) Allows(l *Listener, kind, ns string) bool {
	if !slices.ContainsFunc(l.Kinds, func(k gatewayv1.RouteGroupKind) bool { return string(k.Kind) == kind }) {
		return false
	}
	from := gatewayv1.NamespacesFromSame
	if ar := l.Spec.AllowedRoutes; ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return true
	case gatewayv1.NamespacesFromSame:
		return ns == l.GW.Namespace
	case gatewayv1.NamespacesFromSelector:
		return l.nsSel != nil && l.nsSel.Matches(t.namespaceLabels(ns))
	}
	return false
}

// namespaceSelector parses allowedRoutes.namespaces.selector of a
// listener whose from is Selector; a missing or invalid one leaves the
// listener unaccepted.
func (t *Checker) namespaceSelector(ln *Listener, accepted *metav1.Condition, fail func(*metav1.Condition, string, string, string)) {
	ar := ln.Spec.AllowedRoutes
	if ar == nil || ar.Namespaces == nil || ar.Namespaces.From == nil || *ar.Namespaces.From != gatewayv1.NamespacesFromSelector {
		return
	}
	if ar.Namespaces.Selector == nil {
		fail(accepted, "UnsupportedValue", "allowedRoutes.namespaces.from is Selector but no selector is set", ".allowedRoutes.namespaces.selector")
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
	if err != nil {
		fail(accepted, "UnsupportedValue", fmt.Sprintf("allowedRoutes.namespaces.selector is invalid: %v", err), ".allowedRoutes.namespaces.selector")
		return
	}
	ln.nsSel = sel
}

// namespaceLabels returns the labels of namespace ns. A namespace without
// a Namespace object (file mode need not declare it) has the one label
// the API server sets on every namespace, kubernetes.io/metadata.name.
func (t *Checker) namespaceLabels(ns string) labels.Set {
	o := t.sn.Namespaces[ns]
	if o != nil && o.Labels[corev1.LabelMetadataName] == ns {
		return o.Labels
	}
	m := labels.Set{}
	if o != nil {
		maps.Copy(m, o.Labels)
	}
	m[corev1.LabelMetadataName] = ns
	return m
}

// Intersect returns the hostnames a route serves on a listener ("" for
// any host), and false when they share none.
func Intersect(listenerHost string, routeHosts []gatewayv1.Hostname) ([]string, bool) {
	if len(routeHosts) == 0 {
		return []string{listenerHost}, true
	}
	var out []string
	for _, h := range routeHosts {
		r := strings.ToLower(string(h))
		switch {
		case listenerHost == "" || r == listenerHost:
			out = append(out, r)
		case strings.HasPrefix(listenerHost, "*.") && !strings.HasPrefix(r, "*.") && strings.HasSuffix(r, listenerHost[1:]):
			out = append(out, r)
		case strings.HasPrefix(r, "*.") && !strings.HasPrefix(listenerHost, "*.") && strings.HasSuffix(listenerHost, r[1:]):
			out = append(out, listenerHost)
		case strings.HasPrefix(r, "*.") && strings.HasPrefix(listenerHost, "*."):
			if strings.HasSuffix(r, listenerHost[1:]) {
				out = append(out, r)
			} else if strings.HasSuffix(listenerHost, r[1:]) {
				out = append(out, listenerHost)
			}
		}
	}
	return out, len(out) > 0
}
