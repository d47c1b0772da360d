package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
)

// gatewayManifests is a Gateway with an HTTP listener (redirecting to
// HTTPS) and an HTTPS listener whose certificate is in another namespace
// (granted), and HTTPRoutes using each match and filter moat serves.
func gatewayManifests(t *testing.T, ca *testCA, web, v2, post, shared, refused string) string {
	return join(
		service("shop", "web", web),
		service("shop", "web-v2", v2),
		service("shop", "post", post),
		service("shared", "allowed", shared),
		service("shared", "refused", refused),
		ca.secret(t, "certs", "wildcard", "*.example.com"),
		`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: moat
  listeners:
  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
  - name: https
    protocol: HTTPS
    port: 443
    hostname: "*.example.com"
    allowedRoutes: {namespaces: {from: All}}
    tls: {certificateRefs: [{name: wildcard, namespace: certs}]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gw-certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
  to: [{group: "", kind: Secret}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: shop, namespace: shared}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: allowed}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: https}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: web, port: 80, weight: 1}, {name: web-v2, port: 80, weight: 1}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Env, value: prod}], add: [{name: X-Via, value: moat}], remove: [X-Debug]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: Cache-Control, value: no-store}], remove: [X-Echo-Name]}
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-version, value: v2}]
    - path: {type: PathPrefix, value: /api}
      queryParams: [{name: v, value: "2"}]
    backendRefs: [{name: web-v2, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, method: POST}]
    backendRefs: [{name: post, port: 80}]
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: internal.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]
    backendRefs: [{name: allowed, namespace: shared, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /refused}}]
    backendRefs: [{name: refused, namespace: shared, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /gone}}]
    backendRefs: [{name: missing, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-https, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 308}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad-regex, namespace: shop}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: https}]
  hostnames: [bad.example.com]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/(unclosed"}}]
    backendRefs: [{name: web, port: 80}]`)
}

// TestGatewayAPIHTTPRoute serves a Gateway and HTTPRoutes from files over
// real TLS on loopback: matches, precedence, weights, redirects,
// rewrites, header modifiers and ReferenceGrant, with the status and
// diagnostics the specification names.
func TestGatewayAPIHTTPRoute(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	web, v2, post := startEcho(t, "127.0.0.1:0", "web"), startEcho(t, "127.0.0.1:0", "web-v2"), startEcho(t, "127.0.0.1:0", "post")
	shared, refused := startEcho(t, "127.0.0.1:0", "allowed"), startEcho(t, "127.0.0.1:0", "refused")
	writeFile(t, dir, "gateway.yaml", gatewayManifests(t, ca, web, v2, post, shared, refused))
	m := startMoat(t, dir, nil)
	c := m.client(ca.pool, false) // verifies the Gateway's certificate for shop.example.com
	_, httpsPort, _ := strings.Cut(m.addrs.HTTPS, "127.0.0.1:")

	send := func(method, url string, hdr map[string]string) result {
		t.Helper()
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r := result{status: resp.StatusCode, header: resp.Header, body: body, tls: resp.TLS}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			_ = json.Unmarshal(body, &r.echo)
		}
		return r
	}

	// Header, query and method matches win over the plain /api rule
	// (Gateway API precedence), whatever the rule order.
	for _, c := range []struct {
		method, url string
		hdr         map[string]string
		want        string
	}{
		{"GET", "https://shop.example.com/api/x", map[string]string{"X-Version": "v2"}, "web-v2"},
		{"GET", "https://shop.example.com/api/x?a=1&v=2", nil, "web-v2"},
		{"POST", "https://shop.example.com/api/x", nil, "post"},
		{"GET", "https://shop.example.com/items/42", nil, "allowed"},
	} {
		r := send(c.method, c.url, c.hdr)
		if r.status != 200 || r.echo.Name != c.want {
			t.Errorf("%s %s %v: %d from %q, want 200 from %s", c.method, c.url, c.hdr, r.status, r.echo.Name, c.want)
		}
	}

	// Weights 1:1 between web and web-v2, with the header modifiers.
	seen := map[string]int{}
	const n = 200
	for range n {
		r := send("GET", "https://shop.example.com/api/w", map[string]string{"X-Debug": "1", "X-Via": "client"})
		if r.status != 200 {
			t.Fatalf("weighted: %d", r.status)
		}
		seen[r.echo.Name]++
		h := r.echo.Headers
		if h["X-Env"][0] != "prod" || strings.Join(h["X-Via"], ",") != "client,moat" || h["X-Debug"] != nil {
			t.Fatalf("request headers not modified: %v", h)
		}
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get(echo.NameHeader) != "" {
			t.Fatalf("response headers not modified: %v", r.header)
		}
	}
	// Each share is n/2 = 100; 50 is more than 7 standard deviations off.
	if seen["web"] < 50 || seen["web-v2"] < 50 {
		t.Errorf("weights 1:1 gave %v", seen)
	}

	if r := send("GET", "https://shop.example.com/old?x=1", nil); r.status != 301 ||
		r.header.Get("Location") != "https://shop.example.com:"+httpsPort+"/new?x=1" {
		t.Errorf("redirect: %d %q", r.status, r.header.Get("Location"))
	}
	if r := send("GET", "https://shop.example.com/v1/items?q=1", nil); r.status != 200 || r.echo.Path != "/v2/items" ||
		r.echo.RawQuery != "q=1" || r.echo.Host != "internal.example" {
		t.Errorf("rewrite: %d path %q query %q host %q", r.status, r.echo.Path, r.echo.RawQuery, r.echo.Host)
	}
	// Refused by ReferenceGrant and missing backends answer 500.
	for _, p := range []string{"/refused", "/gone"} {
		if r := send("GET", "https://shop.example.com"+p, nil); r.status != 500 || r.echo.Name != "" {
			t.Errorf("%s: %d from %q, want 500 from moat", p, r.status, r.echo.Name)
		}
	}
	// Plain HTTP is the HTTP listener's: its route redirects to HTTPS;
	// the HTTPS-only rules are not served there.
	if r := send("GET", "http://shop.example.com/api/x?y=2", nil); r.status != 308 || r.header.Get("Location") != "https://shop.example.com/api/x?y=2" {
		t.Errorf("http listener: %d %q", r.status, r.header.Get("Location"))
	}
	// The route with an invalid regex is not served; the rest is.
	if r, err := do(m.client(nil, false), "https://bad.example.com/x"); err != nil || r.status != 404 {
		t.Errorf("bad-regex host: %d %v, want 404", r.status, err)
	}

	diags := m.diagnostics(t)
	for _, want := range []string{"RefNotPermitted", "BackendNotFound", "UnsupportedValue", "spec.rules[6].backendRefs[0].namespace"} {
		if !strings.Contains(diags, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, diags)
		}
	}
	st := m.debug(t, "/debug/gateway")
	for _, want := range []string{
		"gatewayclass moat Accepted=True/Accepted@0",
		"listener https kinds=[HTTPRoute,GRPCRoute] attached=2 Accepted=True/Accepted@0 Programmed=True/Programmed@0 ResolvedRefs=True/ResolvedRefs@0",
		"httproute shop/shop\n  parent gw/https Accepted=True/Accepted@0 ResolvedRefs=False/RefNotPermitted@0",
		"httproute shop/bad-regex\n  parent gw/https Accepted=False/UnsupportedValue@0",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("/debug/gateway lacks %q:\n%s", want, st)
		}
	}

	// Without the Gateway's ReferenceGrant the certificate is refused:
	// the listener is not programmed and its routes are not served.
	writeFile(t, dir, "gateway.yaml", strings.Replace(gatewayManifests(t, ca, web, v2, post, shared, refused),
		"kind: Gateway, namespace: infra}]", "kind: Gateway, namespace: elsewhere}]", 1))
	eventually(t, 5*time.Second, "the certificate grant to be withdrawn", func() bool {
		return strings.Contains(m.debug(t, "/debug/gateway"), "ResolvedRefs=False/RefNotPermitted@0 Conflicted")
	})
	if r, err := do(m.client(nil, false), "https://shop.example.com/api/x"); err != nil || r.status != 404 {
		t.Errorf("after the grant is withdrawn: %v %v, want 404", r.status, err)
	}
}

func (m *moat) debug(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + m.addrs.Admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
