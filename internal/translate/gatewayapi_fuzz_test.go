package translate

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/dataplane"
	"github.com/moat-ingress/moat/internal/store"
)

// FuzzGatewayRoute: an HTTPRoute with fuzzed hostname, path, header
// match and modifier, redirect, rewrite and weight. File mode has no API
// server to validate them, so translate must never panic and must never
// produce a configuration the data plane refuses (which would keep every
// other change from being served).
func FuzzGatewayRoute(f *testing.F) {
	f.Add("a.example", "/api", uint8(1), "X-A", "v", 301, "/new", "b.example", int32(1))
	f.Add("*.example", "/(x", uint8(2), "bad name", "a\r\nb", 200, "x", "bad host", int32(-1))
	f.Add("", "", uint8(0), "", "", 0, "", "", int32(0))
	f.Add("a.example", "500ms", uint8(1), "x-h", "*", 301, "1s", "https://*.b.example", int32(60))
	f.Fuzz(func(t *testing.T, host, path string, pathType uint8, hname, hval string, code int, rpath, rhost string, weight int32) {
		types := []gatewayv1.PathMatchType{gatewayv1.PathMatchExact, gatewayv1.PathMatchPathPrefix, gatewayv1.PathMatchRegularExpression, "Other"}
		pt := types[int(pathType)%len(types)]
		port := gatewayv1.PortNumber(80)
		ph := gatewayv1.PreciseHostname(rhost)
		objs := []store.Object{
			{Obj: &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"}}},
			{Obj: &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "ns"}, Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat",
				Listeners: []gatewayv1.Listener{{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80}}}}},
			{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}},
			{Obj: &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
				Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(host)},
				Rules: []gatewayv1.HTTPRouteRule{{
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: &pt, Value: &path},
						Headers: []gatewayv1.HTTPHeaderMatch{{Name: gatewayv1.HTTPHeaderName(hname), Value: hval}}}},
					Filters: []gatewayv1.HTTPRouteFilter{
						{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{
							Set: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(hname), Value: hval}}, Remove: []string{hname}}},
						{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
							Add: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(hname), Value: hval}}}},
						{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: &gatewayv1.HTTPURLRewriteFilter{Hostname: &ph,
							Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: &rpath}}},
					},
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{Weight: &weight,
						BackendObjectReference: gatewayv1.BackendObjectReference{Name: "s", Port: &port}}}},
				}, {
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{
						StatusCode: &code, Hostname: &ph, Path: &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: &rpath}}}},
				}, {
					Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &gatewayv1.HTTPCORSFilter{
						AllowOrigins: []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(rhost)}, AllowMethods: []gatewayv1.HTTPMethodWithWildcard{gatewayv1.HTTPMethodWithWildcard(hval)},
						AllowHeaders: []gatewayv1.HTTPHeaderName{gatewayv1.HTTPHeaderName(hname)}, ExposeHeaders: []gatewayv1.HTTPHeaderName{gatewayv1.HTTPHeaderName(hname)}, MaxAge: weight}}},
					Timeouts:    &gatewayv1.HTTPRouteTimeouts{Request: ptrTo(gatewayv1.Duration(rpath)), BackendRequest: ptrTo(gatewayv1.Duration(path))},
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "s", Port: &port}}}},
				}},
			}}},
		}
		cfg, diags := Translate(store.FromObjects(objs, nil), Options{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
		if err := dataplane.Validate(cfg); err != nil {
			t.Fatalf("the data plane refuses the configuration: %v\ndiagnostics: %v", err, diags)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
