package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"sort"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// GatewayBackendClientCertificate: a Gateway's spec.tls.backend
// clientCertificateRef is the certificate moat presents to the backends a
// BackendTLSPolicy makes TLS, for the routes attached to that Gateway
// (proxy-ssl-secret's tls.crt/tls.key for Ingresses). The Gateway gets a
// ResolvedRefs condition when the field is set.

// clientCert is one Gateway's resolved client certificate.
type clientCert struct {
	cert *tls.Certificate
	id   string // digest of the certificate, for pool keys
}

// backendClientCertificates resolves the client certificates of moat's
// Gateways and adds their ResolvedRefs condition.
func (t *translator) backendClientCertificates() {
	t.clientCerts = map[string]*clientCert{}
	t.certConflicts = map[diag.ObjectRef]bool{}
	for _, gw := range t.gws {
		key := gw.Namespace + "/" + gw.Name
		st, ours := t.out.Status.Gateways[key]
		if !ours || gw.Spec.TLS == nil || gw.Spec.TLS.Backend == nil || gw.Spec.TLS.Backend.ClientCertificateRef == nil {
			continue
		}
		ref := t.sn.Ref(store.KindGateway, gw.Namespace, gw.Name)
		field := "spec.tls.backend.clientCertificateRef"
		cr := gw.Spec.TLS.Backend.ClientCertificateRef
		ns := gw.Namespace
		if cr.Namespace != nil {
			ns = string(*cr.Namespace)
		}
		reason, msg, f := "", "", ""
		switch {
		case (cr.Group != nil && *cr.Group != "") || (cr.Kind != nil && *cr.Kind != "Secret"):
			reason, msg, f = "InvalidClientCertificateRef", "clientCertificateRef must be a Secret", field+".kind"
		case ns != gw.Namespace && !t.granted(Group, "Gateway", gw.Namespace, "", "Secret", ns, string(cr.Name)):
			reason, msg, f = "RefNotPermitted", fmt.Sprintf("Secret %s/%s is in another namespace and no ReferenceGrant there allows it", ns, cr.Name), field+".namespace"
		case t.res == nil:
			if t.sn.Secrets[ns+"/"+string(cr.Name)] == nil {
				reason, msg, f = "InvalidClientCertificateRef", fmt.Sprintf("Secret %s/%s not found", ns, cr.Name), field+".name"
			}
		default:
			c, why := t.res.ClientCertificate(ns, string(cr.Name))
			if c == nil {
				reason, msg, f = "InvalidClientCertificateRef", why, field+".name"
				break
			}
			h := sha256.New()
			for _, der := range c.Certificate {
				h.Write(der)
			}
			t.clientCerts[key] = &clientCert{cert: c, id: hex.EncodeToString(h.Sum(nil))}
		}
		cond := t.cond("ResolvedRefs", "ResolvedRefs", "", true, gw.Generation)
		if reason != "" {
			cond = t.cond("ResolvedRefs", reason, msg+"; no client certificate is presented to backends", false, gw.Generation)
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Field: f, Message: msg + "; no client certificate is presented to backends"})
		}
		st.Conditions = append(st.Conditions, cond)
		t.out.Status.Gateways[key] = st
	}
}

// clientCertFor returns the client certificate of the Gateways the route
// ref names as parents. moat serves every Gateway on the same listeners,
// so a route of two Gateways with different certificates presents the
// first one's (by namespace/name), and that is reported.
func (t *translator) clientCertFor(ref diag.ObjectRef) *clientCert {
	if len(t.clientCerts) == 0 {
		return nil
	}
	var prs []gatewayv1.ParentReference
	switch ref.Kind {
	case store.KindHTTPRoute:
		for _, hr := range t.httpRoutes {
			if hr.Namespace == ref.Namespace && hr.Name == ref.Name {
				prs = hr.Spec.ParentRefs
			}
		}
	case store.KindGRPCRoute:
		for _, gr := range t.grpcRoutes {
			if gr.Namespace == ref.Namespace && gr.Name == ref.Name {
				prs = gr.Spec.ParentRefs
			}
		}
	}
	var keys []string
	for _, pr := range prs {
		if (pr.Group != nil && string(*pr.Group) != Group) || (pr.Kind != nil && string(*pr.Kind) != "Gateway") {
			continue
		}
		ns := ref.Namespace
		if pr.Namespace != nil {
			ns = string(*pr.Namespace)
		}
		if k := ns + "/" + string(pr.Name); t.clientCerts[k] != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	first := t.clientCerts[keys[0]]
	for _, k := range keys[1:] {
		if t.clientCerts[k].id != first.id && !t.certConflicts[ref] {
			t.certConflicts[ref] = true
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "ClientCertificateConflict", Field: "spec.parentRefs",
				Message: fmt.Sprintf("Gateways %s and %s present different backend client certificates; moat serves Gateways on shared listeners, so %s's is presented", keys[0], k, keys[0])})
		}
	}
	return first
}

// withClientCert is u presenting cc, and the pool key suffix part for it.
func withClientCert(u *routecfg.UpstreamTLS, cc *clientCert) (*routecfg.UpstreamTLS, string) {
	if cc == nil {
		return u, ""
	}
	v := *u
	v.ClientCert = cc.cert
	v.ID = u.ID + "-cc-" + cc.id
	return &v, "-cc-" + cc.id[:12]
}
