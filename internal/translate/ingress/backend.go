package ingress

import (
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// backendRoute resolves an Ingress backend to a route with a pool, or a
// fixed status when it cannot be resolved (503 for a missing Service or
// port, as ingress-nginx answers; 404 for a backend naming no Service).
func (t *Builder) backendRoute(ing *networkingv1.Ingress, b *networkingv1.IngressBackend, field string, ann policy.Set) *routecfg.Route {
	rt := &routecfg.Route{
		SSLRedirect:      ann.SSL.SSLRedirect,
		ForceSSLRedirect: ann.SSL.ForceSSLRedirect,
		Policy:           ann.Policy,
		Source:           routecfg.Source{Namespace: ing.Namespace, Ingress: ing.Name},
	}
	ref := t.Ref(ing)
	if b.Resource != nil {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "ResourceBackendUnsupported", Field: field + ".resource",
			Message: fmt.Sprintf("resource backends (%s %s) are not supported; answered with 404", b.Resource.Kind, b.Resource.Name)})
		rt.Status = 404
		return rt
	}
	if b.Service == nil || b.Service.Name == "" {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "BackendMissing", Field: field + ".service",
			Message: "the backend names no service; answered with 404"})
		rt.Status = 404
		return rt
	}
	port := b.Service.Port.Name
	if port == "" {
		port = strconv.Itoa(int(b.Service.Port.Number))
	}
	rt.Source.Service, rt.Source.Port = b.Service.Name, port
	key := ing.Namespace + "/" + b.Service.Name + ":" + port
	key += policy.ServiceUpstreamSuffix(ann)
	proto, upTLS, suffix := t.pol.UpstreamFor(ann.TLS, b.Service.Name, field)
	key += suffix + policy.FastCGISuffix(ann.FastCGI)
	if _, ok := t.Config.Pools[key]; ok {
		rt.Pool = key
		return rt
	}
	pool, d := resolve.Pool(t.Snapshot, t.Ref(ing), ing.Namespace, b.Service, key, field)
	pool, d = t.serviceUpstream(ing, b.Service, pool, d, ann)
	if d != nil {
		t.Add(*d)
	}
	if pool == nil {
		rt.Status = 503
		return rt
	}
	pool.Protocol, pool.TLS = proto, upTLS
	if proto == routecfg.ProtocolFCGI {
		pool.FastCGI = ann.FastCGI
	}
	t.Config.Pools[key] = pool
	rt.Pool = key
	return rt
}
