package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/errorpages"
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/resolve"
	networkingv1 "k8s.io/api/networking/v1"
)

// errorPages is ingress-nginx's error_page handling for one location.
// The Ingress's custom-http-errors replace the ConfigMap's (a location
// with error_page directives of its own inherits none from the http
// level) and go to its default-backend; the ConfigMap's go to
// --default-backend-service (@custom_upstream-default-backend_CODE) even
// when the Ingress names a default-backend. proxy_intercept_errors is
// on at the http level when the ConfigMap lists codes (unless its
// disable-proxy-intercept-errors), and on in the location when the
// Ingress lists codes and does not set disable-proxy-intercept-errors;
// a location that does not turn it on inherits the http level's.
func (t *Extractor) errorPages(r *annotations.Reader, ing *networkingv1.Ingress) *routecfg.ErrorPages {
	c := errorpages.Parse(r)
	e := &routecfg.ErrorPages{}
	if c.DefaultBackend != "" {
		e.Backend = t.defaultBackendPool(r, ing, c.DefaultBackend)
	}
	global := len(t.Ctrl.CustomHTTPErrors) > 0 && !t.Ctrl.DisableProxyInterceptErrors
	if c.CodesSet {
		if slices.ContainsFunc(c.Codes, func(c int) bool { return c < 400 }) {
			t.AnnDiag(r, "custom-http-errors", diag.Info, "AnnotationValueDiffers", "custom-http-errors: "+controllerconfig.RedirectCodesNote)
		}
		e.Codes, e.Pool = c.Codes, e.Backend
		e.Intercept = !c.NoIntercept || global
	} else {
		e.Codes, e.Intercept = t.Ctrl.CustomHTTPErrors, global
	}
	// proxy_intercept_errors is the proxy module's: grpc_pass and
	// fastcgi_pass locations never replace upstream answers (moat's own
	// 502, 503, 504 still are).
	if p, _ := r.Raw("backend-protocol"); strings.EqualFold(strings.TrimSpace(p), "GRPC") || strings.EqualFold(strings.TrimSpace(p), "GRPCS") || strings.EqualFold(strings.TrimSpace(p), "FCGI") {
		e.Intercept = false
	}
	if c.NoIntercept && global {
		t.AnnDiag(r, "disable-proxy-intercept-errors", diag.Warning, "AnnotationNoEffect",
			"disable-proxy-intercept-errors has no effect while the ConfigMap's custom-http-errors turn interception on for every location (ingress-nginx's location inherits proxy_intercept_errors on from the http level); upstream answers with the listed codes are still replaced")
	}
	if len(e.Codes) == 0 {
		e.Codes, e.Intercept = nil, false
		if e.Backend == "" {
			return nil
		}
	}
	return e
}

// defaultBackendPool registers the pool of the default-backend Service's
// first port (ingress-nginx uses the first port), reached over plain
// HTTP: the pool an Ingress backend naming that port would have.
func (t *Extractor) defaultBackendPool(r *annotations.Reader, ing *networkingv1.Ingress, name string) string {
	svc, ok := t.Snapshot.Services[ing.Namespace+"/"+name]
	if !ok || len(svc.Spec.Ports) == 0 {
		t.AnnDiag(r, "default-backend", diag.Error, "ServiceNotFound", fmt.Sprintf("default-backend service %q not found in namespace %s (or it has no ports)", name, ing.Namespace))
		return ""
	}
	sb := &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: svc.Spec.Ports[0].Port}}
	key := ing.Namespace + "/" + name + ":" + strconv.Itoa(int(sb.Port.Number))
	if _, ok := t.Config.Pools[key]; ok {
		return key
	}
	pool, d := resolve.Pool(t.Snapshot, t.Ref(ing), ing.Namespace, sb, key, "metadata.annotations."+r.FullKey("default-backend"))
	if d != nil {
		t.Add(*d)
	}
	if pool == nil {
		return ""
	}
	pool.Protocol, pool.TLS = routecfg.ProtocolHTTP, nil
	t.Config.Pools[key] = pool
	return key
}
