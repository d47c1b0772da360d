package gateway

import (
	"fmt"
	"slices"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// tlsRoute attaches a TLSRoute to TLS listeners: each of its hostnames
// (intersected with the listener's) is forwarded by SNI to the weighted
// backendRefs of its rules, unterminated on a Passthrough listener, and
// decrypted with the listener's certificate on a Terminate one.
func (t *translator) tlsRoute(tr *gatewayv1.TLSRoute) {
	ref := t.sn.Ref(store.KindTLSRoute, tr.Namespace, tr.Name)
	t.cur = store.KindTLSRoute + "/" + tr.Namespace + "/" + tr.Name
	gen := tr.Generation
	var st gatewayv1.TLSRouteStatus
	var attached []attach
	st.Parents, attached = t.parents("TLSRoute", tr.Namespace, ref, gen, tr.Spec.ParentRefs, tr.Spec.Hostnames)
	if len(st.Parents) == 0 {
		return
	}
	refReason, refMsg := "", ""
	problem := func(r, m, field string) {
		if refReason == "" {
			refReason, refMsg = r, m
		}
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: r, Field: field, Message: m})
	}
	var backends []routecfg.Backend
	for ri := range tr.Spec.Rules {
		backends = append(backends, t.backendRefs("TLSRoute", tr.Namespace, ref, tr.Spec.Rules[ri].BackendRefs,
			fmt.Sprintf("spec.rules[%d]", ri), problem)...)
	}
	for i := range backends {
		if backends[i].Pool == "" {
			backends[i].Status = 0 // a connection given to it is closed
		}
	}
	if len(backends) == 0 {
		backends = []routecfg.Backend{{Weight: 1}} // no backendRefs: connections are closed
	}
	pass := &routecfg.Passthrough{Backends: backends, Source: routecfg.Source{Namespace: tr.Namespace, Ingress: tr.Name}}
	if i := slices.IndexFunc(backends, func(b routecfg.Backend) bool { return b.Pool != "" }); i >= 0 {
		pass.Pool = backends[i].Pool
		if br := firstRef(tr); br != nil {
			pass.Source.Service = string(br.Name)
		}
	}
	for _, a := range attached {
		for _, host := range a.hosts {
			key := t.hostKey(a.ln, host)
			if host == "" {
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "UnsupportedValue", Field: "spec.hostnames",
					Message: fmt.Sprintf("listener %q has no hostname and the route names none: TLS routes need an SNI name; not served there", a.ln.Spec.Name)})
				continue
			}
			// With no resolved backend the SNI is still claimed: its
			// connections are closed (TLSRouteInvalidBackendRef*), not
			// terminated with some other certificate.
			t.touch(key)
			h, ok := t.hosts[key]
			if !ok {
				h = &Host{Name: host, Source: ref}
				t.hosts[key] = h
			}
			if h.Passthrough != nil {
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "HostnameConflict", Field: "spec.hostnames",
					Message: fmt.Sprintf("host %q is already passed through by TLSRoute %s/%s; not served by this route", host, h.Passthrough.Source.Namespace, h.Passthrough.Source.Ingress)})
				continue
			}
			h.Passthrough = pass
			if a.ln.Terminate {
				term := *pass
				term.Terminate = true
				h.Passthrough = &term
				t.certFor(key, a.ln)
			}
		}
	}
	for i := range st.Parents {
		ps := &st.Parents[i]
		c := t.cond("ResolvedRefs", "ResolvedRefs", "", true, gen)
		if refReason != "" {
			c = t.cond("ResolvedRefs", refReason, refMsg, false, gen)
		}
		ps.Conditions = slices.Insert(ps.Conditions, 1, c)
	}
	t.out.Status.TLSRoutes[tr.Namespace+"/"+tr.Name] = st
}

// firstRef is the route's first backendRef, named in logs and metrics.
func firstRef(tr *gatewayv1.TLSRoute) *gatewayv1.BackendRef {
	for ri := range tr.Spec.Rules {
		if len(tr.Spec.Rules[ri].BackendRefs) > 0 {
			return &tr.Spec.Rules[ri].BackendRefs[0]
		}
	}
	return nil
}
