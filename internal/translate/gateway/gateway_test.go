package gateway

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// Listener and route hostname intersection (Gateway API's
// HTTPRouteHostnameIntersection cases).
func TestIntersect(t *testing.T) {
	for _, c := range []struct {
		listener string
		route    []gatewayv1.Hostname
		want     []string
	}{
		{"", nil, []string{""}},
		{"a.example.com", nil, []string{"a.example.com"}},
		{"", []gatewayv1.Hostname{"X.example.com"}, []string{"x.example.com"}},
		{"*.example.com", []gatewayv1.Hostname{"a.example.com", "a.other.org", "example.com"}, []string{"a.example.com"}},
		{"a.example.com", []gatewayv1.Hostname{"*.example.com"}, []string{"a.example.com"}},
		{"*.example.com", []gatewayv1.Hostname{"*.a.example.com"}, []string{"*.a.example.com"}},
		{"*.a.example.com", []gatewayv1.Hostname{"*.example.com"}, []string{"*.a.example.com"}},
		{"a.example.com", []gatewayv1.Hostname{"b.example.com"}, nil},
	} {
		got, ok := intersect(c.listener, c.route)
		if !reflect.DeepEqual(got, c.want) || ok != (len(c.want) > 0) {
			t.Errorf("intersect(%q, %q) = %q, %v; want %q", c.listener, c.route, got, ok, c.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"x-version": "X-Version", "X-ENV": "X-Env", "a": "A"} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q", in, want)
		}
	}
}

// Precedence across routes of one host: Exact before any prefix, the
// longer prefix first, method before headers before query parameters,
// then the older route, whatever the order the objects come in.
func TestPrecedence(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-newer, namespace: ns, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: s, port: 80}]
  - matches:
    - {path: {type: PathPrefix, value: /a}, queryParams: [{name: q, value: "1"}]}
    - {path: {type: PathPrefix, value: /a}, headers: [{name: h, value: "1"}]}
    - {path: {type: PathPrefix, value: /a}, method: GET}
    backendRefs: [{name: s, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: z-older, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /a/b}}, {path: {type: Exact, value: /z}}]
    backendRefs: [{name: s, port: 80}]
`
	objs, diags := k8s.Decode([]byte(manifests), "p.yaml")
	if len(diags) > 0 {
		t.Fatalf("decode: %v", diags)
	}
	out := Translate(store.FromObjects(objs, nil), Options{}, nil)
	if len(out.Hosts) != 1 {
		t.Fatalf("hosts: %+v", out.Hosts)
	}
	var got []string
	for _, rt := range out.Hosts[0].Routes {
		c := rt.Conditions
		got = append(got, fmt.Sprintf("%s %s m=%s h=%d q=%d %s", rt.Match, rt.Path, c.Method, len(c.Headers), len(c.Query), rt.Source.Ingress))
	}
	want := []string{
		"Exact /z m= h=0 q=0 z-older",
		"Prefix /a/b m= h=0 q=0 z-older",
		"Prefix /a m=GET h=0 q=0 a-newer",
		"Prefix /a m= h=1 q=0 a-newer",
		"Prefix /a m= h=0 q=1 a-newer",
		"Prefix /a m= h=0 q=0 z-older",
		"Prefix /a m= h=0 q=0 a-newer",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
