package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// annIngress is an Ingress for one host and path "/" with annotations.
func annIngress(name, host, svc string, ann map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: default\n  annotations:\n", name)
	for k, v := range ann {
		fmt.Fprintf(&b, "    nginx.ingress.kubernetes.io/%s: %q\n", k, v)
	}
	fmt.Fprintf(&b, "spec:\n  rules:\n  - host: %q\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}\n", host, svc)
	return b.String()
}

func req(t *testing.T, c *http.Client, method, url string, hdr map[string]string) result {
	t.Helper()
	rq, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		rq.Header.Set(k, v)
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = jsonDecode(resp.Body, &r.echo)
	}
	return r
}

// TestAnnotationsHTTP covers the HTTP behaviour families end to end over
// real HTTP: redirects, CORS, source ranges, basic and external auth,
// error pages, x-forwarded-prefix, snippets.
func TestAnnotationsHTTP(t *testing.T) {
	dir := t.TempDir()
	app := startEcho(t, "127.0.0.1:0", "app")
	errs := startEcho(t, "127.0.0.1:0", "errors")
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Token") {
		case "good":
			w.Header().Set("X-User", "alice")
			w.Header().Set("X-Orig-Method", r.Header.Get("X-Original-Method"))
			w.WriteHeader(200)
		case "forbidden":
			w.WriteHeader(403)
		default:
			w.WriteHeader(401)
		}
	}))
	t.Cleanup(auth.Close)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", app),
		service("default", "errors", errs),
		service("default", "empty"),
		fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: users, namespace: default}\nstringData:\n  auth: \"bob:%s\"\n", hash),
		annIngress("perm", "perm.example", "app", map[string]string{"permanent-redirect": "https://new.example$request_uri"}),
		annIngress("temp", "temp.example", "app", map[string]string{"permanent-redirect": "https://p.example/", "temporal-redirect": "https://t.example/", "temporal-redirect-code": "307"}),
		annIngress("approot", "root.example", "app", map[string]string{"app-root": "/app1"}),
		annIngress("cors", "cors.example", "app", map[string]string{"enable-cors": "true", "cors-allow-origin": "https://a.example, https://*.b.example", "cors-expose-headers": "X-Custom"}),
		annIngress("corsany", "corsany.example", "app", map[string]string{"enable-cors": "true"}),
		annIngress("allow", "allow.example", "app", map[string]string{"whitelist-source-range": "10.0.0.0/8"}),
		annIngress("allowme", "allowme.example", "app", map[string]string{"allowlist-source-range": "127.0.0.1/32", "denylist-source-range": "10.0.0.0/8"}),
		annIngress("deny", "deny.example", "app", map[string]string{"denylist-source-range": "127.0.0.0/8"}),
		annIngress("basic", "basic.example", "app", map[string]string{"auth-type": "basic", "auth-secret": "users", "auth-realm": "Staff only"}),
		annIngress("basicbad", "basicbad.example", "app", map[string]string{"auth-type": "basic", "auth-secret": "other/users"}),
		annIngress("ext", "ext.example", "app", map[string]string{"auth-url": auth.URL + "/check", "auth-response-headers": "X-User"}),
		annIngress("signin", "signin.example", "app", map[string]string{"auth-url": auth.URL + "/check", "auth-signin": "https://login.example/start"}),
		annIngress("errpages", "err.example", "empty", map[string]string{"default-backend": "errors"}),
		annIngress("snippet", "snippet.example", "app", map[string]string{"configuration-snippet": `more_set_headers "X-Snip: 1";`}),
		annIngress("www", "www.site.example", "app", map[string]string{"from-to-www-redirect": "true"}),
		annIngress("alias", "main.example", "app", map[string]string{"server-alias": "alias.example"}),
		annIngress("nolog", "nolog.example", "app", map[string]string{"enable-access-log": "false", "connection-proxy-header": "keep-alive"}),
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: xfp
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
    nginx.ingress.kubernetes.io/x-forwarded-prefix: /api
spec:
  rules:
  - host: xfp.example
    http:
      paths:
      - {path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: app, port: {number: 80}}}}`,
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	t.Run("permanent-redirect", func(t *testing.T) {
		r := get(t, c, "http://perm.example/a/b?x=1")
		if r.status != 301 || r.header.Get("Location") != "https://new.example/a/b?x=1" {
			t.Errorf("got %d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("temporal-redirect wins", func(t *testing.T) {
		r := get(t, c, "http://temp.example/")
		if r.status != 307 || r.header.Get("Location") != "https://t.example/" {
			t.Errorf("got %d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("app-root", func(t *testing.T) {
		r := get(t, c, "http://root.example/")
		if r.status != 302 || r.header.Get("Location") != "http://root.example/app1" {
			t.Errorf("got %d %q", r.status, r.header.Get("Location"))
		}
		if r := get(t, c, "http://root.example/other"); r.status != 200 || r.echo.Path != "/other" {
			t.Errorf("other path: %d %q", r.status, r.echo.Path)
		}
	})
	t.Run("cors", func(t *testing.T) {
		r := req(t, c, "OPTIONS", "http://cors.example/x", map[string]string{"Origin": "https://api.b.example", "Access-Control-Request-Method": "PUT"})
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://api.b.example" ||
			r.header.Get("Access-Control-Allow-Methods") != "GET, PUT, POST, DELETE, PATCH, OPTIONS" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Max-Age") != "1728000" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
		r = req(t, c, "GET", "http://cors.example/x", map[string]string{"Origin": "https://a.example"})
		if r.status != 200 || r.echo.Name != "app" || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" || r.header.Get("Access-Control-Expose-Headers") != "X-Custom" {
			t.Errorf("simple: %d %v", r.status, r.header)
		}
		// Two labels for "*", or another origin: no CORS headers, OPTIONS proxied.
		for _, o := range []string{"https://x.y.b.example", "https://evil.example"} {
			r = req(t, c, "OPTIONS", "http://cors.example/x", map[string]string{"Origin": o})
			if r.status != 200 || r.echo.Name != "app" || r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("origin %s: %d %v", o, r.status, r.header)
			}
		}
		r = req(t, c, "OPTIONS", "https://corsany.example/", nil)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("any origin: %d %v", r.status, r.header)
		}
	})
	t.Run("source ranges", func(t *testing.T) {
		if r := get(t, c, "http://allow.example/"); r.status != 403 {
			t.Errorf("not in whitelist: %d", r.status)
		}
		if r := get(t, c, "http://allowme.example/"); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("in allowlist: %d", r.status)
		}
		if r := get(t, c, "https://deny.example/"); r.status != 403 {
			t.Errorf("denied: %d", r.status)
		}
	})
	t.Run("basic auth", func(t *testing.T) {
		r := get(t, c, "http://basic.example/")
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="Staff only"` {
			t.Errorf("no credentials: %d %v", r.status, r.header)
		}
		rq, _ := http.NewRequest("GET", "http://basic.example/p", nil)
		rq.SetBasicAuth("bob", "wrong")
		if resp, err := c.Do(rq); err != nil || resp.StatusCode != 401 {
			t.Errorf("wrong password: %v %v", resp, err)
		}
		rq.SetBasicAuth("bob", "s3cret")
		resp, err := c.Do(rq)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("good password: %v %v", resp, err)
		}
		var e struct{ Headers map[string][]string }
		_ = jsonDecode(resp.Body, &e)
		resp.Body.Close()
		if _, ok := e.Headers["Authorization"]; ok {
			t.Errorf("upstream got the Authorization header")
		}
		// Secret in another namespace: refused, the paths are denied.
		if r := get(t, c, "http://basicbad.example/"); r.status != 503 {
			t.Errorf("cross-namespace secret: %d", r.status)
		}
	})
	t.Run("external auth", func(t *testing.T) {
		r := req(t, c, "POST", "http://ext.example/x", map[string]string{"X-Token": "good", "X-User": "mallory"})
		if r.status != 200 || r.echo.Headers["X-User"][0] != "alice" || r.echo.Method != "POST" {
			t.Errorf("allowed: %d %v", r.status, r.echo.Headers)
		}
		if r := req(t, c, "GET", "http://ext.example/x", nil); r.status != 401 {
			t.Errorf("unauthenticated: %d", r.status)
		}
		if r := req(t, c, "GET", "http://ext.example/x", map[string]string{"X-Token": "forbidden"}); r.status != 403 {
			t.Errorf("forbidden: %d", r.status)
		}
		r = get(t, c, "http://signin.example/a?b=c")
		if r.status != 302 || r.header.Get("Location") != "https://login.example/start?rd=http://signin.example%2Fa%3Fb%3Dc" {
			t.Errorf("signin: %d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("default-backend", func(t *testing.T) {
		if r := get(t, c, "http://err.example/x"); r.status != 200 || r.echo.Name != "errors" {
			t.Errorf("no endpoints → default backend: %d %q", r.status, r.echo.Name)
		}
	})
	t.Run("snippet refused by default", func(t *testing.T) {
		if r := get(t, c, "http://snippet.example/"); r.status != 404 {
			t.Errorf("Ingress with a snippet must not be served: %d", r.status)
		}
	})
	t.Run("from-to-www", func(t *testing.T) {
		r := get(t, c, "http://site.example/a/")
		if r.status != 308 || r.header.Get("Location") != "http://www.site.example/a" {
			t.Errorf("got %d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("server-alias", func(t *testing.T) {
		if r := get(t, c, "http://alias.example/z"); r.status != 200 || r.echo.Name != "app" || r.echo.Host != "alias.example" {
			t.Errorf("alias: %d %q %q", r.status, r.echo.Name, r.echo.Host)
		}
	})
	t.Run("x-forwarded-prefix", func(t *testing.T) {
		r := get(t, c, "http://xfp.example/api/v1")
		if r.status != 200 || r.echo.Path != "/v1" || r.echo.Headers["X-Forwarded-Prefix"][0] != "/api" {
			t.Errorf("got %d %q %v", r.status, r.echo.Path, r.echo.Headers)
		}
	})
	t.Run("access log off", func(t *testing.T) {
		r := get(t, c, "http://nolog.example/quiet-path")
		if r.status != 200 || r.echo.Headers["Connection"][0] != "keep-alive" {
			t.Errorf("got %d %v", r.status, r.echo.Headers)
		}
		get(t, c, "http://allowme.example/logged-path")
		eventually(t, 5e9, "access log line", func() bool { return strings.Contains(m.logs.String(), "/logged-path") })
		if strings.Contains(m.logs.String(), "/quiet-path\"") && strings.Contains(m.logs.String(), `"path":"/quiet-path"`) {
			t.Errorf("enable-access-log false still logged")
		}
	})
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
