package translate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// defaultBackend builds --default-backend-service, ingress-nginx's
// upstream-default-backend: the Service's first port (getDefaultUpstream
// uses Spec.Ports[0]), plain HTTP. A missing Service, or one without
// ready endpoints, leaves the built-in 404 answering, as ingress-nginx's
// internal server does; the first is an error, the second a warning.
func (t *translator) defaultBackend() {
	name := t.Opts.DefaultBackendService
	if name == "" {
		return
	}
	flag := diag.ObjectRef{Name: "--default-backend-service"}
	ns, n, ok := strings.Cut(name, "/")
	if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
		t.Add(diag.Diagnostic{Object: flag, Severity: diag.Error, Reason: "DefaultBackendInvalid",
			Message: fmt.Sprintf("%q is not namespace/name; unmatched requests get the built-in 404", name)})
		return
	}
	svc, ok := t.Snapshot.Services[ns+"/"+n]
	if !ok {
		d := diag.Diagnostic{Object: t.Snapshot.Ref("Service", ns, n), Severity: diag.Error, Reason: "DefaultBackendInvalid",
			Message: fmt.Sprintf("--default-backend-service: service %s not found; unmatched requests get the built-in 404", name)}
		if hint := resolve.SimilarName(resolve.ServiceNames(t.Snapshot), ns, n, "Service"); hint != "" {
			d.Hint = hint
		}
		t.Add(d)
		return
	}
	ref := t.Snapshot.Ref("Service", ns, n)
	if len(svc.Spec.Ports) == 0 {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "DefaultBackendInvalid", Field: "spec.ports",
			Message: "--default-backend-service: the service has no ports; unmatched requests get the built-in 404"})
		return
	}
	sp := &svc.Spec.Ports[0]
	port := strconv.Itoa(int(sp.Port))
	key := ns + "/" + n + ":" + port
	pool, ok := t.Config.Pools[key]
	if !ok {
		pool = &routecfg.Pool{Key: key, Namespace: ns, Service: n, Endpoints: resolve.ReadyEndpoints(t.Snapshot.EndpointSlices[ns+"/"+n], sp)}
		t.Config.Pools[key] = pool
	}
	if len(pool.Endpoints) == 0 {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "DefaultBackendNoEndpoints", Field: "spec.ports[0]",
			Message: fmt.Sprintf("--default-backend-service: port %d has no ready endpoints; unmatched requests get the built-in 404 until it has", sp.Port)})
	}
	rt := &routecfg.Route{Path: "/", Match: routecfg.MatchPrefix, Pool: key}
	// The unmatched requests' location inherits the http-level
	// error_page and proxy_intercept_errors: the ConfigMap's codes.
	if codes := t.Ctrl.CustomHTTPErrors; len(codes) > 0 {
		rt.Policy = &routecfg.RoutePolicy{ErrorPages: &routecfg.ErrorPages{Codes: codes, Intercept: !t.Ctrl.DisableProxyInterceptErrors}}
	}
	t.Config.DefaultBackend = rt
}
