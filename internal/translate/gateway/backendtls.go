package gateway

import (
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway/backendtls"
)

// backendTLSPolicies resolves the snapshot's BackendTLSPolicies
// (backendtls); servicePool looks them up.
func (t *translator) backendTLSPolicies() {
	t.tlsPolicies = backendtls.Resolve(t.sn, t.cond, t.add)
}

// tlsPolicyStatus writes each policy's status once the routes' are known.
func (t *translator) tlsPolicyStatus() {
	t.out.Status.BackendTLSPolicies = t.tlsPolicies.Status(t.opts.ControllerName, t.httpRoutes, t.out.Status.HTTPRoutes,
		t.grpcRoutes, t.out.Status.GRPCRoutes)
}

// servicePool is Resolver.ServicePool, over TLS when a BackendTLSPolicy
// targets the port (not for TLSRoute, whose TLS is the client's).
func (t *translator) servicePool(kind string, ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol) (string, string) {
	tp := t.tlsPolicies.For(ns, name, port)
	if tp == nil || kind == store.KindTLSRoute {
		return t.res.ServicePool(ref, field, ns, name, port, proto)
	}
	if proto == routecfg.ProtocolGRPC {
		proto = routecfg.ProtocolGRPCS
	} else {
		proto = routecfg.ProtocolHTTPS
	}
	u, cc := withClientCert(tp.Up, t.clientCertFor(ref))
	return t.res.TLSServicePool(ref, field, ns, name, port, proto, u, "#"+proto.String()+"-btls-"+tp.Suffix+cc)
}
