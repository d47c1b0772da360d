package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// annIngressTLS is annIngress with a tls section for the host and no
// secretName: the host gets the default certificate and plain HTTP is
// redirected to HTTPS, as ingress-nginx does.
func annIngressTLS(name, host, svc string, ann map[string]string) string {
	s := annIngress(name, host, svc, ann)
	return strings.Replace(s, "spec:\n", fmt.Sprintf("spec:\n  tls: [{hosts: [%q]}]\n", host), 1)
}

// statusBackend answers /status/NNN with NNN and the body "upstream NNN",
// anything else with 200; every answer carries X-Custom: from-upstream.
func statusBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := 200
		if s, ok := strings.CutPrefix(r.URL.Path, "/status/"); ok {
			if n, err := strconv.Atoi(s); err == nil {
				code = n
			}
		}
		w.Header().Set("X-Custom", "from-upstream")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprintf(w, "upstream %d", code)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// authBackend is an external auth service. X-Token "good" (or accept)
// gets 200, "forbidden" 403, anything else 401. Every answer sets the
// cookie authsess=<name> and reports what the sub-request looked like in
// X-Seen-* headers (copied upstream with auth-response-headers).
func authBackend(t *testing.T, name, accept string) string {
	t.Helper()
	if accept == "" {
		accept = "good"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Set-Cookie", "authsess="+name+"; Path=/")
		h.Set("X-User", "alice")
		h.Set("X-Auth-Name", name)
		h.Set("X-Seen-Method", r.Method)
		h.Set("X-Seen-Uri", r.URL.RequestURI())
		h.Set("X-Seen-Original-Method", r.Header.Get("X-Original-Method"))
		h.Set("X-Seen-Original-Uri", r.Header.Get("X-Original-Uri"))
		h.Set("X-Seen-Original-Url", r.Header.Get("X-Original-Url"))
		h.Set("X-Seen-Redirect", r.Header.Get("X-Auth-Request-Redirect"))
		h.Set("X-Seen-Tenant", r.Header.Get("X-Tenant"))
		h.Set("X-Seen-Req-Host", r.Header.Get("X-Req-Host"))
		switch r.Header.Get("X-Token") {
		case accept:
			w.WriteHeader(200)
		case "forbidden":
			w.WriteHeader(403)
		default:
			w.WriteHeader(401)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// seenHeaders are the auth answer's headers that tests copy upstream.
const seenHeaders = "X-User, X-Auth-Name, X-Seen-Method, X-Seen-Uri, X-Seen-Original-Method, X-Seen-Original-Uri, X-Seen-Original-Url, X-Seen-Redirect, X-Seen-Tenant, X-Seen-Req-Host"

// echoHeader is the first value of an upstream request header the echo
// backend saw, or "".
func (r result) echoHeader(name string) string {
	if v := r.echo.Headers[http.CanonicalHeaderKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// hasCookie reports whether a response sets the cookie name=value.
func hasCookie(h http.Header, name, value string) bool {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name && c.Value == value {
			return true
		}
	}
	return false
}

func basicReq(t *testing.T, c *http.Client, url, user, pw string) result {
	t.Helper()
	rq, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		rq.SetBasicAuth(user, pw)
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = jsonDecode(resp.Body, &r.echo)
	}
	return r
}

// TestAnnotationsHTTPMore covers the HTTP family keys that
// TestAnnotationsHTTP leaves out: satisfy, the external-auth options
// (auth-method, auth-request-redirect, auth-proxy-set-headers,
// auth-always-set-cookie), disable-proxy-intercept-errors,
// preserve-trailing-slash and use-port-in-redirects.
func TestAnnotationsHTTPMore(t *testing.T) {
	dir := t.TempDir()
	app := startEcho(t, "127.0.0.1:0", "app")
	errs := startEcho(t, "127.0.0.1:0", "errors")
	status := statusBackend(t)
	auth := authBackend(t, "main", "")
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	basic := func(extra map[string]string) map[string]string {
		m := map[string]string{"auth-type": "basic", "auth-secret": "users", "auth-realm": "Staff"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ext := func(extra map[string]string) map[string]string {
		m := map[string]string{"auth-url": auth + "/check", "auth-response-headers": seenHeaders}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", app),
		service("default", "errors", errs),
		service("default", "status", status),
		fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: users, namespace: default}\nstringData:\n  auth: \"bob:%s\"\n", hash),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: auth-hdrs, namespace: default}\ndata:\n  X-Tenant: acme\n  X-Req-Host: \"$host\"\n",
		// satisfy
		annIngress("any-addr", "any-addr.example", "app", basic(map[string]string{"allowlist-source-range": "127.0.0.1/32", "satisfy": "any"})),
		annIngress("any-auth", "any-auth.example", "app", basic(map[string]string{"allowlist-source-range": "10.0.0.0/8", "satisfy": "any"})),
		annIngress("all", "all.example", "app", basic(map[string]string{"allowlist-source-range": "10.0.0.0/8"})),
		annIngress("all-explicit", "all-explicit.example", "app", basic(map[string]string{"allowlist-source-range": "127.0.0.1/32", "satisfy": "all"})),
		annIngress("any-denylist", "any-denylist.example", "app", basic(map[string]string{"denylist-source-range": "10.0.0.0/8", "satisfy": "any"})),
		annIngress("any-denied", "any-denied.example", "app", basic(map[string]string{"denylist-source-range": "127.0.0.0/8", "satisfy": "any"})),
		annIngress("any-ext", "any-ext.example", "app", ext(map[string]string{"allowlist-source-range": "10.0.0.0/8", "satisfy": "any"})),
		annIngress("any-ext-addr", "any-ext-addr.example", "app", ext(map[string]string{"allowlist-source-range": "127.0.0.1/32", "satisfy": "any"})),
		// external auth options
		annIngress("ext", "ext.example", "app", ext(nil)),
		annIngress("method", "method.example", "app", ext(map[string]string{"auth-method": "GET"})),
		annIngress("rr", "rr.example", "app", ext(map[string]string{"auth-request-redirect": "https://$host/landing"})),
		annIngress("psh", "psh.example", "app", ext(map[string]string{"auth-proxy-set-headers": "auth-hdrs"})),
		annIngress("psh-missing", "psh-missing.example", "app", ext(map[string]string{"auth-proxy-set-headers": "no-such-configmap"})),
		annIngress("psh-cross", "psh-cross.example", "app", ext(map[string]string{"auth-proxy-set-headers": "other/auth-hdrs"})),
		annIngress("cookie", "cookie.example", "status", ext(nil)),
		annIngress("cookie-always", "cookie-always.example", "status", ext(map[string]string{"auth-always-set-cookie": "true"})),
		// error interception
		annIngress("intercept", "intercept.example", "status", map[string]string{"custom-http-errors": "500,404", "default-backend": "errors"}),
		annIngress("nointercept", "nointercept.example", "status", map[string]string{"custom-http-errors": "500,404", "default-backend": "errors", "disable-proxy-intercept-errors": "true"}),
		// HTTP → HTTPS redirect options
		annIngressTLS("slash", "slash.example", "app", map[string]string{"preserve-trailing-slash": "true"}),
		annIngressTLS("noslash", "noslash.example", "app", nil),
		annIngressTLS("port", "port.example", "app", map[string]string{"use-port-in-redirects": "true"}),
		annIngressTLS("portslash", "portslash.example", "app", map[string]string{"use-port-in-redirects": "true", "preserve-trailing-slash": "true"}),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	t.Run("satisfy", func(t *testing.T) {
		// satisfy any: an allowed address needs no credentials.
		if r := basicReq(t, c, "http://any-addr.example/", "", ""); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("any, allowed address, no credentials: %d", r.status)
		}
		// satisfy any, address not allowed: authentication decides.
		r := basicReq(t, c, "http://any-auth.example/", "", "")
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="Staff"` {
			t.Errorf("any, other address, no credentials: %d %v", r.status, r.header)
		}
		if r := basicReq(t, c, "http://any-auth.example/", "bob", "wrong"); r.status != 401 {
			t.Errorf("any, other address, wrong password: %d", r.status)
		}
		if r := basicReq(t, c, "http://any-auth.example/", "bob", "s3cret"); r.status != 200 || r.echo.Name != "app" || r.echoHeader("Authorization") != "" {
			t.Errorf("any, other address, good password: %d %v", r.status, r.echo.Headers)
		}
		// satisfy all (default, or explicit): both must pass.
		if r := basicReq(t, c, "http://all.example/", "bob", "s3cret"); r.status != 403 {
			t.Errorf("all, other address, good password: %d", r.status)
		}
		if r := basicReq(t, c, "http://all-explicit.example/", "", ""); r.status != 401 {
			t.Errorf("all, allowed address, no credentials: %d", r.status)
		}
		if r := basicReq(t, c, "http://all-explicit.example/", "bob", "s3cret"); r.status != 200 {
			t.Errorf("all, allowed address, good password: %d", r.status)
		}
		// satisfy any with only a denylist: an address that is merely not
		// denied is not "allowed" (nginx's access module declines), so
		// authentication is still required.
		if r := basicReq(t, c, "http://any-denylist.example/", "", ""); r.status != 401 {
			t.Errorf("any, denylist only, address not denied, no credentials: %d (authentication bypassed)", r.status)
		}
		if r := basicReq(t, c, "http://any-denylist.example/", "bob", "s3cret"); r.status != 200 {
			t.Errorf("any, denylist only, good password: %d", r.status)
		}
		// satisfy any, denied address: authentication still lets it in.
		if r := basicReq(t, c, "http://any-denied.example/", "bob", "s3cret"); r.status != 200 {
			t.Errorf("any, denied address, good password: %d", r.status)
		}
		if r := basicReq(t, c, "http://any-denied.example/", "", ""); r.status != 401 {
			t.Errorf("any, denied address, no credentials: %d", r.status)
		}
		// satisfy any with external auth.
		if r := req(t, c, "GET", "http://any-ext.example/", map[string]string{"X-Token": "good"}); r.status != 200 || r.echoHeader("X-User") != "alice" {
			t.Errorf("any, external auth ok: %d %v", r.status, r.echo.Headers)
		}
		if r := req(t, c, "GET", "http://any-ext.example/", nil); r.status != 401 {
			t.Errorf("any, external auth 401: %d", r.status)
		}
		if r := req(t, c, "GET", "http://any-ext.example/", map[string]string{"X-Token": "forbidden"}); r.status != 403 {
			t.Errorf("any, external auth 403: %d", r.status)
		}
		if r := req(t, c, "GET", "http://any-ext-addr.example/", nil); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("any, allowed address, external auth not needed: %d", r.status)
		}
	})

	t.Run("auth-method", func(t *testing.T) {
		// Without auth-method the sub-request uses the original method.
		r := req(t, c, "POST", "http://ext.example/p?q=1", map[string]string{"X-Token": "good"})
		if r.status != 200 || r.echo.Method != "POST" || r.echoHeader("X-Seen-Method") != "POST" || r.echoHeader("X-Seen-Original-Method") != "POST" {
			t.Errorf("default method: %d %q %v", r.status, r.echo.Method, r.echo.Headers)
		}
		if r.echoHeader("X-Seen-Original-Uri") != "" {
			t.Errorf("X-Original-URI without auth-method: %q", r.echoHeader("X-Seen-Original-Uri"))
		}
		if got := r.echoHeader("X-Seen-Original-Url"); got != "http://ext.example/p?q=1" {
			t.Errorf("X-Original-URL %q", got)
		}
		// auth-method GET: the auth service sees GET (and X-Original-URI),
		// the upstream still gets the POST.
		r = req(t, c, "POST", "http://method.example/p?q=1", map[string]string{"X-Token": "good"})
		if r.status != 200 || r.echo.Method != "POST" || r.echoHeader("X-Seen-Method") != "GET" || r.echoHeader("X-Seen-Original-Method") != "POST" ||
			r.echoHeader("X-Seen-Original-Uri") != "/p?q=1" || r.echoHeader("X-Seen-Uri") != "/check" {
			t.Errorf("auth-method GET: %d %q %v", r.status, r.echo.Method, r.echo.Headers)
		}
		if r := req(t, c, "POST", "http://method.example/p", nil); r.status != 401 {
			t.Errorf("auth-method GET, no token: %d", r.status)
		}
	})

	t.Run("auth-request-redirect", func(t *testing.T) {
		// Default: the request URI.
		if r := req(t, c, "GET", "http://ext.example/p?q=1", map[string]string{"X-Token": "good"}); r.echoHeader("X-Seen-Redirect") != "/p?q=1" {
			t.Errorf("default X-Auth-Request-Redirect %q", r.echoHeader("X-Seen-Redirect"))
		}
		r := req(t, c, "GET", "http://rr.example/p?q=1", map[string]string{"X-Token": "good"})
		if r.status != 200 || r.echoHeader("X-Seen-Redirect") != "https://rr.example/landing" {
			t.Errorf("auth-request-redirect: %d %q", r.status, r.echoHeader("X-Seen-Redirect"))
		}
	})

	t.Run("auth-proxy-set-headers", func(t *testing.T) {
		r := req(t, c, "GET", "http://psh.example/", map[string]string{"X-Token": "good", "X-Tenant": "evil"})
		if r.status != 200 || r.echoHeader("X-Seen-Tenant") != "acme" || r.echoHeader("X-Seen-Req-Host") != "psh.example" {
			t.Errorf("auth-proxy-set-headers: %d %v", r.status, r.echo.Headers)
		}
		// A missing or cross-namespace ConfigMap adds nothing; auth itself
		// still applies.
		for _, host := range []string{"psh-missing.example", "psh-cross.example"} {
			r := req(t, c, "GET", "http://"+host+"/", map[string]string{"X-Token": "good"})
			if r.status != 200 || r.echoHeader("X-Seen-Tenant") != "" {
				t.Errorf("%s: %d %v", host, r.status, r.echo.Headers)
			}
			if r := req(t, c, "GET", "http://"+host+"/", nil); r.status != 401 {
				t.Errorf("%s without token: %d", host, r.status)
			}
		}
	})

	t.Run("auth-always-set-cookie", func(t *testing.T) {
		good := map[string]string{"X-Token": "good"}
		// Default: the auth cookie only on 2xx and 3xx answers.
		if r := req(t, c, "GET", "http://cookie.example/status/200", good); r.status != 200 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("200: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie.example/status/302", good); r.status != 302 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("302: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie.example/status/500", good); r.status != 500 || hasCookie(r.header, "authsess", "main") {
			t.Errorf("500 without always: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie.example/status/200", nil); r.status != 401 || hasCookie(r.header, "authsess", "main") {
			t.Errorf("401 without always: %d %v", r.status, r.header["Set-Cookie"])
		}
		// auth-always-set-cookie: on every answer, the auth's 401 included.
		if r := req(t, c, "GET", "http://cookie-always.example/status/500", good); r.status != 500 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("500 with always: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie-always.example/status/404", good); r.status != 404 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("404 with always: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie-always.example/status/200", nil); r.status != 401 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("401 with always: %d %v", r.status, r.header["Set-Cookie"])
		}
		if r := req(t, c, "GET", "http://cookie-always.example/status/200", good); r.status != 200 || !hasCookie(r.header, "authsess", "main") {
			t.Errorf("200 with always: %d %v", r.status, r.header["Set-Cookie"])
		}
	})

	t.Run("disable-proxy-intercept-errors", func(t *testing.T) {
		r := get(t, c, "http://intercept.example/status/500")
		if r.echo.Name != "errors" || r.echoHeader("X-Code") != "500" {
			t.Errorf("custom-http-errors 500 → default backend: %d %q %s", r.status, r.echo.Name, r.body)
		}
		for _, code := range []int{500, 404} {
			r := get(t, c, fmt.Sprintf("http://nointercept.example/status/%d", code))
			if r.status != code || string(r.body) != fmt.Sprintf("upstream %d", code) {
				t.Errorf("disable-proxy-intercept-errors, upstream %d: got %d %q", code, r.status, r.body)
			}
		}
		if r := get(t, c, "http://nointercept.example/ok"); r.status != 200 || string(r.body) != "upstream 200" {
			t.Errorf("ok: %d %q", r.status, r.body)
		}
	})

	t.Run("preserve-trailing-slash", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{"http://noslash.example/a/", "https://noslash.example/a"},
			{"http://noslash.example/", "https://noslash.example"},
			{"http://noslash.example/a/b", "https://noslash.example/a/b"},
			{"http://slash.example/a/", "https://slash.example/a/"},
			{"http://slash.example/", "https://slash.example/"},
			{"http://slash.example/a?x=1", "https://slash.example/a?x=1"},
		} {
			r := get(t, c, tc.url)
			if r.status != 308 || r.header.Get("Location") != tc.want {
				t.Errorf("%s: %d %q, want 308 %q", tc.url, r.status, r.header.Get("Location"), tc.want)
			}
		}
		// Over HTTPS the route is served.
		if r := get(t, c, "https://slash.example/a/"); r.status != 200 || r.echo.Path != "/a/" {
			t.Errorf("https: %d %q", r.status, r.echo.Path)
		}
	})

	t.Run("use-port-in-redirects", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{"http://port.example/a", "https://port.example:443/a"},
			{"http://port.example/a/", "https://port.example:443/a"},
			{"http://portslash.example/a/", "https://portslash.example:443/a/"},
			{"http://noslash.example/a", "https://noslash.example/a"},
		} {
			r := get(t, c, tc.url)
			if r.status != 308 || r.header.Get("Location") != tc.want {
				t.Errorf("%s: %d %q, want 308 %q", tc.url, r.status, r.header.Get("Location"), tc.want)
			}
		}
	})
}

// TestAnnotationsHTTPRest covers the remaining supported or partial keys
// of the HTTP families: permanent-redirect-code, relative-redirects, the
// CORS values, auth-secret-type auth-map, auth-signin-redirect-param,
// auth-cache-* and auth-keepalive-* (validated, not acted on),
// proxy-http-version, enable-rewrite-log and auth-snippet (refused).
func TestAnnotationsHTTPRest(t *testing.T) {
	dir := t.TempDir()
	app := startEcho(t, "127.0.0.1:0", "app")
	var authCalls atomic.Int64
	authSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authCalls.Add(1)
		if r.Header.Get("X-Token") == "good" {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(401)
	}))
	t.Cleanup(authSrv.Close)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", app),
		fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: usermap, namespace: default}\nstringData:\n  bob: %q\n  carol: plaintext\n", hash),
		annIngress("perm308", "perm308.example", "app", map[string]string{"permanent-redirect": "https://new.example/", "permanent-redirect-code": "308"}),
		annIngress("rel", "rel.example", "app", map[string]string{"relative-redirects": "true", "app-root": "/app1"}),
		annIngress("cors", "cors.example", "app", map[string]string{"enable-cors": "true", "cors-allow-origin": "https://a.example",
			"cors-allow-methods": "GET, POST", "cors-allow-headers": "X-A, X-B", "cors-allow-credentials": "false", "cors-max-age": "600"}),
		annIngress("authmap", "authmap.example", "app", map[string]string{"auth-type": "basic", "auth-secret": "usermap", "auth-secret-type": "auth-map"}),
		annIngress("signin", "signin.example", "app", map[string]string{"auth-url": authSrv.URL, "auth-signin": "https://login.example/start", "auth-signin-redirect-param": "orig"}),
		annIngress("cache", "cache.example", "app", map[string]string{"auth-url": authSrv.URL, "auth-cache-key": "$http_x_token", "auth-cache-duration": "200 10m",
			"auth-keepalive": "10", "auth-keepalive-requests": "100", "auth-keepalive-timeout": "30", "auth-keepalive-share-vars": "true"}),
		annIngress("http10", "http10.example", "app", map[string]string{"proxy-http-version": "1.0"}),
		annIngress("authsnippet", "authsnippet.example", "app", map[string]string{"auth-url": authSrv.URL, "auth-snippet": "proxy_set_header X-A 1;"}),
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewritelog
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
    nginx.ingress.kubernetes.io/enable-rewrite-log: "true"
spec:
  rules:
  - host: rewritelog.example
    http:
      paths:
      - {path: /logged(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: app, port: {number: 80}}}}`,
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	t.Run("permanent-redirect-code", func(t *testing.T) {
		if r := get(t, c, "http://perm308.example/x"); r.status != 308 || r.header.Get("Location") != "https://new.example/" {
			t.Errorf("%d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("relative-redirects", func(t *testing.T) {
		// Accepted; moat's redirects are absolute URLs built from the
		// request either way.
		if r := get(t, c, "http://rel.example/"); r.status != 302 || r.header.Get("Location") != "http://rel.example/app1" {
			t.Errorf("%d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("cors values", func(t *testing.T) {
		r := req(t, c, "OPTIONS", "http://cors.example/", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "POST"})
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" || r.header.Get("Access-Control-Allow-Methods") != "GET, POST" ||
			r.header.Get("Access-Control-Allow-Headers") != "X-A, X-B" || r.header.Get("Access-Control-Max-Age") != "600" ||
			r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
		r = req(t, c, "GET", "http://cors.example/", map[string]string{"Origin": "https://a.example"})
		if r.status != 200 || r.echo.Name != "app" || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" || r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("simple: %d %v", r.status, r.header)
		}
	})
	t.Run("auth-secret-type auth-map", func(t *testing.T) {
		if r := basicReq(t, c, "http://authmap.example/", "bob", "s3cret"); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("bob: %d", r.status)
		}
		if r := basicReq(t, c, "http://authmap.example/", "bob", "wrong"); r.status != 401 {
			t.Errorf("bob, wrong password: %d", r.status)
		}
		// A plain-text entry is refused: that user cannot log in.
		if r := basicReq(t, c, "http://authmap.example/", "carol", "plaintext"); r.status != 401 {
			t.Errorf("carol (plain text): %d", r.status)
		}
	})
	t.Run("auth-signin-redirect-param", func(t *testing.T) {
		r := get(t, c, "http://signin.example/a?b=c")
		if r.status != 302 || r.header.Get("Location") != "https://login.example/start?orig=http://signin.example%2Fa%3Fb%3Dc" {
			t.Errorf("%d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("auth-cache and auth-keepalive (partial)", func(t *testing.T) {
		// Cached per key (see TestAuthCache); the keepalive keys are
		// accepted.
		before := authCalls.Load()
		for range 3 {
			if r := req(t, c, "GET", "http://cache.example/", map[string]string{"X-Token": "good"}); r.status != 200 || r.echo.Name != "app" {
				t.Fatalf("cache.example: %d", r.status)
			}
		}
		if n := authCalls.Load() - before; n > 1 {
			t.Errorf("auth service asked %d times for 3 requests with one cache key", n)
		}
		if r := req(t, c, "GET", "http://cache.example/", nil); r.status != 401 {
			t.Errorf("no token: %d", r.status)
		}
	})
	t.Run("proxy-http-version", func(t *testing.T) {
		// 1.0: HTTP/1.0 on the wire, one upstream connection per request.
		r1 := get(t, c, "http://http10.example/1")
		r2 := get(t, c, "http://http10.example/2")
		if r1.status != 200 || r1.echo.Proto != "HTTP/1.0" || r1.echoHeader("Connection") != "close" || r1.echo.RemoteAddr == r2.echo.RemoteAddr {
			t.Errorf("1.0: %d %s %v, remote %s then %s", r1.status, r1.echo.Proto, r1.echo.Headers, r1.echo.RemoteAddr, r2.echo.RemoteAddr)
		}
		if r := get(t, c, "http://rel.example/app1"); r.echo.Proto != "HTTP/1.1" {
			t.Errorf("default proxy-http-version: backend saw %s", r.echo.Proto)
		}
	})
	t.Run("enable-rewrite-log", func(t *testing.T) {
		r := get(t, c, "http://rewritelog.example/logged/deep/path")
		if r.status != 200 || r.echo.Path != "/deep/path" {
			t.Fatalf("%d %q", r.status, r.echo.Path)
		}
		eventually(t, 5e9, "rewrite log line", func() bool {
			return strings.Contains(m.logs.String(), `"msg":"rewrite"`) && strings.Contains(m.logs.String(), `"rewritten":"/deep/path"`)
		})
	})
	t.Run("auth-snippet refused", func(t *testing.T) {
		// Critical risk: the whole Ingress is refused, as ingress-nginx.
		if r := req(t, c, "GET", "http://authsnippet.example/", map[string]string{"X-Token": "good"}); r.status != 404 {
			t.Errorf("%d", r.status)
		}
	})
}
