package e2e

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// startSlow runs a backend that answers after the ?delay= duration.
func startSlow(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// HTTPRoute timeouts, as the conformance tests HTTPRouteTimeoutBackendRequest
// and HTTPRouteRequestTimeout check them: a backend slower than the timeout
// gets 504, a fast answer and a disabled (0s) timeout are served.
func TestGatewayAPITimeouts(t *testing.T) {
	dir := t.TempDir()
	slow := startSlow(t)
	writeFile(t, dir, "gateway.yaml", join(service("app", "slow", slow), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: t, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [t.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /backend-timeout}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {backendRequest: 300ms}
  - matches: [{path: {type: PathPrefix, value: /request-timeout}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {request: 300ms}
  - matches: [{path: {type: PathPrefix, value: /disabled}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {backendRequest: 0s}
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/backend-timeout", 200},
		{"/backend-timeout?delay=1s", 504},
		{"/request-timeout", 200},
		{"/request-timeout?delay=1s", 504},
		{"/disabled?delay=1s", 200},
	} {
		start := time.Now()
		r := get(t, c, "http://t.example.com"+tc.path)
		if r.status != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.path, r.status, tc.want, time.Since(start))
		}
	}
}

// The HTTPRoute CORS filter, with the conformance test HTTPRouteCORS's
// routes and expectations: preflights answered 200 by moat with the
// configured headers, "*" host wildcards over several labels, the Origin
// echoed, "*" methods and headers echoed, no credentials unless asked,
// and nothing for an origin not allowed (its preflight answered by moat).
func TestGatewayAPICORS(t *testing.T) {
	dir := t.TempDir()
	web := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "gateway.yaml", join(service("app", "web", web), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cors, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [c.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /cors-1}}]
    backendRefs: [{name: web, port: 80}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3, x-header-4]
        allowCredentials: true
        maxAge: 3600
  - matches: [{path: {type: PathPrefix, value: /cors-2}}]
    backendRefs: [{name: web, port: 80}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://www.foo.com"], allowMethods: ["*"]}}]
  - matches: [{path: {type: PathPrefix, value: /cors-wildcard-origin}}]
    backendRefs: [{name: web, port: 80}]
    filters: [{type: CORS, cors: {allowOrigins: ["*"], allowMethods: [PUT], allowCredentials: false}}]
  - matches: [{path: {type: PathPrefix, value: /cors-wildcard-methods-headers}}]
    backendRefs: [{name: web, port: 80}]
    filters: [{type: CORS, cors: {allowOrigins: ["https://other.foo.com"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true}}]
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	send := func(method, path string, hdr map[string]string) result {
		t.Helper()
		req, err := http.NewRequest(method, "http://c.example.com"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return result{status: resp.StatusCode, header: resp.Header}
	}
	const (
		acao = "Access-Control-Allow-Origin"
		acam = "Access-Control-Allow-Methods"
		acah = "Access-Control-Allow-Headers"
		acac = "Access-Control-Allow-Credentials"
	)
	pre := func(origin, method, headers string) map[string]string {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return h
	}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		want               map[string]string // "" means absent
	}{
		{"preflight exact origin", "OPTIONS", "/cors-1", pre("https://www.foo.com", "GET", "x-header-1, x-header-2"), 200, map[string]string{
			acao: "https://www.foo.com", acam: "GET, OPTIONS", acah: "x-header-1, x-header-2",
			"Access-Control-Expose-Headers": "x-header-3, x-header-4", "Access-Control-Max-Age": "3600", acac: "true"}},
		{"preflight wildcard origin", "OPTIONS", "/cors-1", pre("https://www.bar.com", "GET", ""), 200, map[string]string{acao: "https://www.bar.com"}},
		{"preflight wildcard over labels", "OPTIONS", "/cors-1", pre("https://xpto.www.bar.com", "GET", ""), 200, map[string]string{acao: "https://xpto.www.bar.com"}},
		{"preflight default port", "OPTIONS", "/cors-1", pre("https://www.foo.com:443", "GET", ""), 200, map[string]string{acao: "https://www.foo.com:443"}},
		// Answered by moat (no body), not passed to the backend.
		{"preflight other origin", "OPTIONS", "/cors-1", pre("https://foobar.com", "GET", ""), 200, map[string]string{acao: "", acam: "", "Content-Length": "0"}},
		{"preflight other port", "OPTIONS", "/cors-1", pre("https://www.foo.com:8443", "GET", ""), 200, map[string]string{acao: "", "Content-Length": "0"}},
		{"OPTIONS other origin, not a preflight", "OPTIONS", "/cors-1", map[string]string{"Origin": "https://foobar.com"}, 200, map[string]string{acao: "", "Content-Type": "application/json"}},
		{"simple exact origin", "GET", "/cors-1", map[string]string{"Origin": "https://www.foo.com"}, 200, map[string]string{acao: "https://www.foo.com", acac: "true"}},
		{"simple other origin", "GET", "/cors-1", map[string]string{"Origin": "https://foobar.com"}, 200, map[string]string{acao: ""}},
		{"wildcard methods", "OPTIONS", "/cors-2", pre("https://www.foo.com", "POST", ""), 200, map[string]string{acao: "https://www.foo.com", acam: "POST", acac: "", "Access-Control-Max-Age": "5"}},
		{"wildcard origin", "OPTIONS", "/cors-wildcard-origin", pre("https://foobar.com:12345", "PUT", ""), 200, map[string]string{acao: "https://foobar.com:12345", acam: "PUT", acac: ""}},
		{"wildcard origin simple", "PUT", "/cors-wildcard-origin", map[string]string{"Origin": "https://foobar.com"}, 200, map[string]string{acao: "https://foobar.com"}},
		{"wildcard methods and headers with credentials", "OPTIONS", "/cors-wildcard-methods-headers", pre("https://other.foo.com", "PUT", "x-header-1, x-header-2"), 200, map[string]string{
			acao: "https://other.foo.com", acam: "PUT", acah: "x-header-1, x-header-2", acac: "true"}},
		{"credentials simple", "GET", "/cors-wildcard-methods-headers", map[string]string{"Origin": "https://other.foo.com", "Authorization": "Bearer test"}, 200, map[string]string{
			acao: "https://other.foo.com", acac: "true"}},
	} {
		r := send(tc.method, tc.path, tc.hdr)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, r.status, tc.status)
		}
		for k, v := range tc.want {
			if got, ok := r.header[http.CanonicalHeaderKey(k)]; (v == "" && ok) || (v != "" && (len(got) != 1 || got[0] != v)) {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, got, v)
			}
		}
	}
}

// RequestHeaderModifiers on weighted backendRefs, as the conformance test
// HTTPRouteRequestHeaderModifierBackendWeights sends them: each request
// carries the header of the backend it was sent to, never the other's.
func TestGatewayAPIBackendRefHeaders(t *testing.T) {
	dir := t.TempDir()
	a, b := startEcho(t, "127.0.0.1:0", "a"), startEcho(t, "127.0.0.1:0", "b")
	writeFile(t, dir, "gateway.yaml", join(service("app", "a", a), service("app", "b", b), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: w, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [w.example.com]
  rules:
  - filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Rule, value: r}]}}]
    backendRefs:
    - {name: a, port: 80, weight: 1, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: a}]}}]}
    - {name: b, port: 80, weight: 1, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: b}]}}]}
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	seen := map[string]int{}
	for range 40 {
		r := get(t, c, "http://w.example.com/")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := r.echo.Headers["Backend"]; len(got) != 1 || got[0] != r.echo.Name {
			t.Fatalf("backend %s got Backend: %q", r.echo.Name, got)
		}
		if got := r.echo.Headers["X-Rule"]; len(got) != 1 || got[0] != "r" {
			t.Fatalf("backend %s: the rule's header is %q, want r", r.echo.Name, got)
		}
		seen[r.echo.Name]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("40 requests reached %v; want both backends", seen)
	}
}
