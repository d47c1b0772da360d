package gateway

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// BackendTLSPolicy fills the upstream TLS identity proxy-ssl-* fills for
// Ingresses (routecfg.UpstreamTLS): a route's backendRef to a Service
// port a policy targets is spoken to over TLS (HTTPS, or GRPCS for a
// GRPCRoute), with the policy's hostname as SNI, and the backend's
// certificate verified against the CA certificates and the hostname (or
// the subjectAltNames). A policy that cannot be applied as written still
// holds its target: its connections fail (5xx) rather than go out in
// clear text or unverified.

// tlsPolicy is one BackendTLSPolicy as resolved.
type tlsPolicy struct {
	p        *gatewayv1.BackendTLSPolicy
	key      string // namespace/name
	accepted metav1.Condition
	resolved metav1.Condition
	up       *routecfg.UpstreamTLS
	suffix   string // pool key suffix after the protocol
	lost     bool   // a target is held by an older policy
}

// tlsTarget is what a targetRef names; section "" is every port.
type tlsTarget struct{ ns, svc, section string }

// maxVerifyDepth stands for "no limit": BackendTLSPolicy has no depth.
const maxVerifyDepth = 100

// backendTLSPolicies resolves the snapshot's policies; routes look them
// up with backendTLS.
func (t *translator) backendTLSPolicies() {
	var ps []*gatewayv1.BackendTLSPolicy
	for k, o := range t.sn.GatewayAPI {
		if p, ok := o.(*gatewayv1.BackendTLSPolicy); ok && k.Kind == store.KindBackendTLSPolicy {
			ps = append(ps, p)
		}
	}
	// Precedence: the older policy, then namespace/name.
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	t.tlsTargets = map[tlsTarget]*tlsPolicy{}
	for _, p := range ps {
		tp := t.resolveTLSPolicy(p)
		t.tlsPolicies = append(t.tlsPolicies, tp)
		ref := t.sn.Ref(store.KindBackendTLSPolicy, p.Namespace, p.Name)
		for i, tr := range p.Spec.TargetRefs {
			field := fmt.Sprintf("spec.targetRefs[%d]", i)
			if tr.Group != "" || tr.Kind != "Service" {
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "UnsupportedTarget", Field: field + ".kind",
					Message: fmt.Sprintf("targetRef kind %s/%s is not supported (Service is); the target is ignored", tr.Group, tr.Kind)})
				continue
			}
			tg := tlsTarget{p.Namespace, string(tr.Name), ""}
			if tr.SectionName != nil {
				tg.section = string(*tr.SectionName)
			}
			if old := t.tlsTargets[tg]; old != nil && old != tp {
				tp.lost = true
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "Conflicted", Field: field,
					Message: fmt.Sprintf("BackendTLSPolicy %s (older, or first by name) already targets Service %s%s; this policy does not apply there", old.key, tg.svc, sectionLabel(tg.section))})
				continue
			}
			t.tlsTargets[tg] = tp
		}
		if tp.lost {
			tp.accepted = t.cond("Accepted", "Conflicted", "another BackendTLSPolicy takes precedence for a target", false, p.Generation)
		}
	}
}

func sectionLabel(s string) string {
	if s == "" {
		return ""
	}
	return " port " + s
}

// resolveTLSPolicy checks one policy and builds its UpstreamTLS.
func (t *translator) resolveTLSPolicy(p *gatewayv1.BackendTLSPolicy) *tlsPolicy {
	ref := t.sn.Ref(store.KindBackendTLSPolicy, p.Namespace, p.Name)
	gen := p.Generation
	tp := &tlsPolicy{p: p, key: p.Namespace + "/" + p.Name,
		accepted: t.cond("Accepted", "Accepted", "", true, gen),
		resolved: t.cond("ResolvedRefs", "ResolvedRefs", "", true, gen)}
	v := p.Spec.Validation
	invalid := func(field, msg string) {
		if tp.accepted.Status == metav1.ConditionTrue {
			tp.accepted = t.cond("Accepted", "Invalid", msg, false, gen)
		}
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "Invalid", Field: field,
			Message: msg + "; connections to its targets fail"})
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", tp.key, v.Hostname)
	u := &routecfg.UpstreamTLS{Verify: true, VerifyDepth: maxVerifyDepth, Name: string(v.Hostname), ServerName: true}
	if errs := validation.IsDNS1123Subdomain(string(v.Hostname)); len(errs) > 0 {
		invalid("spec.validation.hostname", fmt.Sprintf("hostname %q is not a DNS name: %s", v.Hostname, strings.Join(errs, "; ")))
	}
	for i, san := range v.SubjectAltNames {
		field := fmt.Sprintf("spec.validation.subjectAltNames[%d]", i)
		switch {
		case san.Type == gatewayv1.HostnameSubjectAltNameType && san.Hostname != "" && san.URI == "":
			u.DNSSANs = append(u.DNSSANs, string(san.Hostname))
		case san.Type == gatewayv1.URISubjectAltNameType && san.URI != "" && san.Hostname == "":
			u.URISANs = append(u.URISANs, string(san.URI))
		default:
			invalid(field, fmt.Sprintf("subjectAltName type %q needs exactly its own field (hostname for Hostname, uri for URI)", san.Type))
		}
		fmt.Fprintf(h, "san\x00%s\x00%s\x00%s\x00", san.Type, san.Hostname, san.URI)
	}
	wk := v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != ""
	switch {
	case wk && len(v.CACertificateRefs) > 0:
		invalid("spec.validation", "caCertificateRefs and wellKnownCACertificates are both set (one of them is allowed)")
	case !wk && len(v.CACertificateRefs) == 0:
		invalid("spec.validation", "neither caCertificateRefs nor wellKnownCACertificates is set")
	case wk && *v.WellKnownCACertificates != gatewayv1.WellKnownCACertificatesSystem:
		invalid("spec.validation.wellKnownCACertificates", fmt.Sprintf("wellKnownCACertificates %q is not supported (System is)", *v.WellKnownCACertificates))
	}
	tp.suffix = hex.EncodeToString(h.Sum(nil))[:12]
	switch {
	case tp.accepted.Status == metav1.ConditionFalse:
		u.RootCAs = x509.NewCertPool() // trusts nothing: connections fail
	case wk:
		u.RootCAs = nil // the system's roots
		fmt.Fprintf(h, "system\x00")
	default:
		u.RootCAs = t.caRefs(tp, ref, h)
	}
	if len(p.Spec.Options) > 0 {
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "UnsupportedValue", Field: "spec.options",
			Message: "moat has no BackendTLSPolicy options; they are ignored"})
	}
	u.ID = "btls-" + hex.EncodeToString(h.Sum(nil))
	tp.up = u
	return tp
}

// caRefs loads the policy's caCertificateRefs (ca.crt of a ConfigMap or
// Secret in the policy's namespace) into one pool, setting ResolvedRefs
// and, when none is usable, Accepted=False/NoValidCACertificate. The
// content goes into h, so a changed CA gets a new transport.
func (t *translator) caRefs(tp *tlsPolicy, ref diag.ObjectRef, h interface{ Write([]byte) (int, error) }) *x509.CertPool {
	p, gen := tp.p, tp.p.Generation
	pool := x509.NewCertPool()
	valid := 0
	for i, cr := range p.Spec.Validation.CACertificateRefs {
		field := fmt.Sprintf("spec.validation.caCertificateRefs[%d]", i)
		fail := func(reason, msg, f string) {
			if tp.resolved.Status == metav1.ConditionTrue {
				tp.resolved = t.cond("ResolvedRefs", reason, msg, false, gen)
			}
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: f, Message: msg})
		}
		nn := p.Namespace + "/" + string(cr.Name)
		var pem []byte
		switch {
		case cr.Group == "" && cr.Kind == "ConfigMap":
			cm := t.sn.ConfigMaps[nn]
			if cm == nil {
				fail("InvalidCACertificateRef", fmt.Sprintf("ConfigMap %s not found", nn), field+".name")
				continue
			}
			pem = []byte(cm.Data["ca.crt"])
			if len(pem) == 0 {
				pem = cm.BinaryData["ca.crt"]
			}
		case cr.Group == "" && cr.Kind == "Secret":
			sec := t.sn.Secrets[nn]
			if sec == nil {
				fail("InvalidCACertificateRef", fmt.Sprintf("Secret %s not found", nn), field+".name")
				continue
			}
			pem = sec.Data["ca.crt"]
		default:
			fail("InvalidKind", fmt.Sprintf("caCertificateRef kind %s/%s is not supported (ConfigMap and Secret are)", cr.Group, cr.Kind), field+".kind")
			continue
		}
		if len(pem) == 0 {
			fail("InvalidCACertificateRef", fmt.Sprintf("%s %s has no ca.crt", cr.Kind, nn), field+".name")
			continue
		}
		if !pool.AppendCertsFromPEM(pem) {
			fail("InvalidCACertificateRef", fmt.Sprintf("ca.crt of %s %s holds no PEM certificate", cr.Kind, nn), field+".name")
			continue
		}
		valid++
		fmt.Fprintf(h, "ca\x00%s\x00", nn)
		_, _ = h.Write(pem)
	}
	if valid == 0 {
		tp.accepted = t.cond("Accepted", "NoValidCACertificate", "no caCertificateRef can be used; connections to the targets fail", false, gen)
	}
	return pool
}

// backendTLS returns the policy that applies to Service ns/name port (a
// policy naming the port's name first, then one for the whole Service),
// or nil.
func (t *translator) backendTLS(ns, name string, port int32) *tlsPolicy {
	if len(t.tlsTargets) == 0 {
		return nil
	}
	if svc := t.sn.Services[ns+"/"+name]; svc != nil {
		for _, sp := range svc.Spec.Ports {
			if sp.Port == port && sp.Name != "" {
				if tp := t.tlsTargets[tlsTarget{ns, name, sp.Name}]; tp != nil {
					return tp
				}
			}
		}
	}
	return t.tlsTargets[tlsTarget{ns, name, ""}]
}

// targets reports whether the policy targets Service ns/name port.
func (tp *tlsPolicy) targets(svcPorts map[int32]string, ns, name string, port int32) bool {
	if tp.p.Namespace != ns {
		return false
	}
	for _, tr := range tp.p.Spec.TargetRefs {
		if tr.Group != "" || tr.Kind != "Service" || string(tr.Name) != name {
			continue
		}
		if tr.SectionName == nil || string(*tr.SectionName) == svcPorts[port] {
			return true
		}
	}
	return false
}

// tlsPolicyStatus writes each policy's status: one ancestor per Gateway
// of ours that an accepted route reaches a target through, with Accepted
// and ResolvedRefs.
func (t *translator) tlsPolicyStatus() {
	if len(t.tlsPolicies) == 0 {
		return
	}
	type use struct {
		rns, ns, svc string
		port         int32
		parents      []gatewayv1.RouteParentStatus
	}
	var uses []use
	collect := func(rns string, parents []gatewayv1.RouteParentStatus, brs []gatewayv1.BackendRef) {
		for _, br := range brs {
			if (br.Group != nil && *br.Group != "") || (br.Kind != nil && *br.Kind != "Service") || br.Port == nil {
				continue
			}
			ns := rns
			if br.Namespace != nil {
				ns = string(*br.Namespace)
			}
			uses = append(uses, use{rns, ns, string(br.Name), int32(*br.Port), parents})
		}
	}
	for _, hr := range t.httpRoutes {
		st := t.out.Status.HTTPRoutes[hr.Namespace+"/"+hr.Name]
		for _, r := range hr.Spec.Rules {
			for _, br := range r.BackendRefs {
				collect(hr.Namespace, st.Parents, []gatewayv1.BackendRef{br.BackendRef})
			}
		}
	}
	for _, gr := range t.grpcRoutes {
		st := t.out.Status.GRPCRoutes[gr.Namespace+"/"+gr.Name]
		for _, r := range gr.Spec.Rules {
			for _, br := range r.BackendRefs {
				collect(gr.Namespace, st.Parents, []gatewayv1.BackendRef{br.BackendRef})
			}
		}
	}
	ours := gatewayv1.GatewayController(t.opts.ControllerName)
	for _, tp := range t.tlsPolicies {
		var ancestors []gatewayv1.ParentReference
		for _, u := range uses {
			ports := map[int32]string{}
			if svc := t.sn.Services[u.ns+"/"+u.svc]; svc != nil {
				for _, sp := range svc.Spec.Ports {
					ports[sp.Port] = sp.Name
				}
			}
			if !tp.targets(ports, u.ns, u.svc, u.port) {
				continue
			}
			for _, ps := range u.parents {
				if ps.ControllerName != ours || len(ps.Conditions) == 0 || ps.Conditions[0].Status != metav1.ConditionTrue {
					continue
				}
				ns := gatewayv1.Namespace(u.rns)
				if ps.ParentRef.Namespace != nil {
					ns = *ps.ParentRef.Namespace
				}
				a := gatewayv1.ParentReference{Group: ptr(gatewayv1.Group(Group)), Kind: ptr(gatewayv1.Kind("Gateway")),
					Namespace: ptr(ns), Name: ps.ParentRef.Name}
				if !slices.ContainsFunc(ancestors, func(x gatewayv1.ParentReference) bool { return *x.Namespace == ns && x.Name == a.Name }) {
					ancestors = append(ancestors, a)
				}
			}
		}
		if len(ancestors) == 0 {
			continue
		}
		sort.Slice(ancestors, func(i, j int) bool {
			return string(*ancestors[i].Namespace)+"/"+string(ancestors[i].Name) < string(*ancestors[j].Namespace)+"/"+string(ancestors[j].Name)
		})
		var st gatewayv1.PolicyStatus
		for _, a := range ancestors {
			st.Ancestors = append(st.Ancestors, gatewayv1.PolicyAncestorStatus{AncestorRef: a, ControllerName: ours,
				Conditions: []metav1.Condition{tp.accepted, tp.resolved}})
		}
		if t.out.Status.BackendTLSPolicies == nil {
			t.out.Status.BackendTLSPolicies = map[string]gatewayv1.PolicyStatus{}
		}
		t.out.Status.BackendTLSPolicies[tp.key] = st
	}
}

// servicePool is Resolver.ServicePool, over TLS when a BackendTLSPolicy
// targets the port (not for TLSRoute, whose TLS is the client's).
func (t *translator) servicePool(kind string, ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol) (string, string) {
	tp := t.backendTLS(ns, name, port)
	if tp == nil || kind == store.KindTLSRoute {
		return t.res.ServicePool(ref, field, ns, name, port, proto)
	}
	if proto == routecfg.ProtocolGRPC {
		proto = routecfg.ProtocolGRPCS
	} else {
		proto = routecfg.ProtocolHTTPS
	}
	u, cc := withClientCert(tp.up, t.clientCertFor(ref))
	return t.res.TLSServicePool(ref, field, ns, name, port, proto, u, "#"+proto.String()+"-btls-"+tp.suffix+cc)
}
