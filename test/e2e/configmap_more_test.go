package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// controllerConfigMap is the --configmap manifest ingress/moat-config.
func controllerConfigMap(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat-config, namespace: ingress}\ndata:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, data[k])
	}
	return b.String()
}

// startWithConfigMap writes docs plus the controller ConfigMap and serves
// them with --configmap ingress/moat-config.
func startWithConfigMap(t *testing.T, data map[string]string, docs ...string) *moat {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(data)}, docs...)...))
	return startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
}

// TestConfigMapGlobalAuth: global-auth-url applies to every Ingress;
// enable-global-auth: "false" opts one out, and an Ingress's own auth-url
// replaces it.
func TestConfigMapGlobalAuth(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	global := authBackend(t, "global", "")
	own := authBackend(t, "own", "own-token")
	m := startWithConfigMap(t, map[string]string{
		"global-auth-url":              global + "/global",
		"global-auth-method":           "GET",
		"global-auth-response-headers": seenHeaders,
		"global-auth-request-redirect": "https://$host/back",
	},
		service("default", "app", appAddr),
		ingress("default", "plain", "g.example", "", "/", "app"),
		annIngress("optout", "optout.example", "app", map[string]string{"enable-global-auth": "false"}),
		annIngress("optin", "optin.example", "app", map[string]string{"enable-global-auth": "true"}),
		annIngress("own", "own.example", "app", map[string]string{"auth-url": own + "/own", "auth-response-headers": "X-Auth-Name, X-Seen-Method"}),
	)
	c := m.client(nil, false)

	for _, host := range []string{"g.example", "optin.example"} {
		if r := req(t, c, "POST", "http://"+host+"/x", nil); r.status != 401 {
			t.Errorf("%s without token: %d", host, r.status)
		}
		if r := req(t, c, "POST", "http://"+host+"/x", map[string]string{"X-Token": "forbidden"}); r.status != 403 {
			t.Errorf("%s forbidden: %d", host, r.status)
		}
		r := req(t, c, "POST", "http://"+host+"/x?y=1", map[string]string{"X-Token": "good"})
		if r.status != 200 || r.echo.Name != "app" || r.echo.Method != "POST" || r.echoHeader("X-User") != "alice" ||
			r.echoHeader("X-Auth-Name") != "global" || r.echoHeader("X-Seen-Method") != "GET" || r.echoHeader("X-Seen-Uri") != "/global" ||
			r.echoHeader("X-Seen-Redirect") != "https://"+host+"/back" {
			t.Errorf("%s with token: %d %v", host, r.status, r.echo.Headers)
		}
	}
	// Opted out: no auth sub-request, nothing copied.
	r := req(t, c, "GET", "http://optout.example/", map[string]string{"X-User": "mallory"})
	if r.status != 200 || r.echo.Name != "app" || r.echoHeader("X-Auth-Name") != "" || r.echoHeader("X-User") != "mallory" {
		t.Errorf("enable-global-auth false: %d %v", r.status, r.echo.Headers)
	}
	// The Ingress's own auth-url replaces the global one, with its own
	// settings (the original method, not global-auth-method).
	if r := req(t, c, "GET", "http://own.example/", map[string]string{"X-Token": "good"}); r.status != 401 {
		t.Errorf("own auth-url, global's token: %d", r.status)
	}
	r = req(t, c, "POST", "http://own.example/", map[string]string{"X-Token": "own-token"})
	if r.status != 200 || r.echoHeader("X-Auth-Name") != "own" || r.echoHeader("X-Seen-Method") != "POST" {
		t.Errorf("own auth-url: %d %v", r.status, r.echo.Headers)
	}
}

// TestConfigMapDisableProxyInterceptErrors: the ConfigMap's
// custom-http-errors apply to every location and go to
// --default-backend-service. As in ingress-nginx, an Ingress's
// disable-proxy-intercept-errors does not stop them (its location
// inherits proxy_intercept_errors on from the http level); the
// ConfigMap's disable-proxy-intercept-errors does, for upstream answers.
func TestConfigMapDisableProxyInterceptErrors(t *testing.T) {
	status := statusBackend(t)
	errs := startEcho(t, "127.0.0.1:0", "errors")
	docs := []string{
		service("default", "status", status),
		service("default", "errors", errs),
		annIngress("intercept", "intercept.example", "status", map[string]string{"default-backend": "errors"}),
		annIngress("nointercept", "nointercept.example", "status", map[string]string{"default-backend": "errors", "disable-proxy-intercept-errors": "true"}),
		annIngress("explicit", "explicit.example", "status", map[string]string{"default-backend": "errors", "disable-proxy-intercept-errors": "false"}),
	}
	start := func(data map[string]string) *moat {
		dir := t.TempDir()
		writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(data)}, docs...)...))
		return startMoat(t, dir, func(c *app.ServeConfig) {
			c.ConfigMap = "ingress/moat-config"
			c.DefaultBackendService = "default/errors"
		})
	}
	m := start(map[string]string{"custom-http-errors": "404,503"})
	c := m.client(nil, false)
	for _, host := range []string{"intercept.example", "explicit.example", "nointercept.example"} {
		for _, code := range []int{404, 503} {
			r := get(t, c, fmt.Sprintf("http://%s/status/%d?q=1", host, code))
			if r.echo.Name != "errors" || r.echoHeader("X-Code") != fmt.Sprint(code) || r.echoHeader("X-Original-Uri") != fmt.Sprintf("/status/%d?q=1", code) {
				t.Errorf("%s upstream %d: %d %s", host, code, r.status, r.body)
			}
		}
		// A code not listed passes through.
		if r := get(t, c, "http://"+host+"/status/500"); r.status != 500 || string(r.body) != "upstream 500" {
			t.Errorf("%s upstream 500: %d %q", host, r.status, r.body)
		}
	}
	if !strings.Contains(m.logs.String(), "AnnotationNoEffect") {
		t.Errorf("disable-proxy-intercept-errors under the ConfigMap's codes not reported:\n%s", m.logs.String())
	}

	m = start(map[string]string{"custom-http-errors": "404,503", "disable-proxy-intercept-errors": "true"})
	c = m.client(nil, false)
	for _, code := range []int{404, 503} {
		r := get(t, c, fmt.Sprintf("http://intercept.example/status/%d", code))
		if r.status != code || string(r.body) != fmt.Sprintf("upstream %d", code) || r.header.Get("X-Custom") != "from-upstream" {
			t.Errorf("ConfigMap disable-proxy-intercept-errors, upstream %d: %d %q", code, r.status, r.body)
		}
	}
}

// TestConfigMapCustomHeaders: custom-headers sets a ConfigMap's entries
// on every response when global-allowed-response-headers allows each of
// them; otherwise the annotation is ignored as a whole.
func TestConfigMapCustomHeaders(t *testing.T) {
	status := statusBackend(t)
	hdrs := func(ns, name string, data map[string]string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata:\n", name, ns)
		for k, v := range data {
			fmt.Fprintf(&b, "  %s: %q\n", k, v)
		}
		return b.String()
	}
	docs := []string{
		service("default", "status", status),
		hdrs("default", "team-headers", map[string]string{"X-Custom": "v1", "X-Team": "core"}),
		hdrs("default", "bad-headers", map[string]string{"X-Custom": "v1", "X-Forbidden": "no"}),
		hdrs("other", "team-headers", map[string]string{"X-Custom": "v1"}),
		annIngress("ch", "ch.example", "status", map[string]string{"custom-headers": "team-headers"}),
		annIngress("chns", "chns.example", "status", map[string]string{"custom-headers": "default/team-headers"}),
		annIngress("chbad", "chbad.example", "status", map[string]string{"custom-headers": "bad-headers"}),
		annIngress("chcross", "chcross.example", "status", map[string]string{"custom-headers": "other/team-headers"}),
		annIngress("chmissing", "chmissing.example", "status", map[string]string{"custom-headers": "nope"}),
		ingress("default", "none", "none.example", "", "/", "status"),
	}

	t.Run("allowed", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"global-allowed-response-headers": "X-Custom, x-team"}, docs...)
		c := m.client(nil, false)
		for _, host := range []string{"ch.example", "chns.example"} {
			// Every status, and the upstream's own X-Custom is replaced.
			for _, code := range []int{200, 404, 503} {
				r := get(t, c, fmt.Sprintf("http://%s/status/%d", host, code))
				if r.status != code || r.header.Values("X-Custom")[0] != "v1" || len(r.header.Values("X-Custom")) != 1 || r.header.Get("X-Team") != "core" {
					t.Errorf("%s %d: %d %v", host, code, r.status, r.header)
				}
			}
		}
		// Refused: one header not allowed, another namespace, missing
		// ConfigMap. The request is still served, without the headers.
		for _, host := range []string{"chbad.example", "chcross.example", "chmissing.example", "none.example"} {
			r := get(t, c, "http://"+host+"/status/200")
			if r.status != 200 || r.header.Get("X-Custom") != "from-upstream" || r.header.Get("X-Forbidden") != "" || r.header.Get("X-Team") != "" {
				t.Errorf("%s: %d %v", host, r.status, r.header)
			}
		}
	})
	t.Run("nothing allowed", func(t *testing.T) {
		// Without global-allowed-response-headers every custom-headers
		// annotation is refused.
		m := startWithConfigMap(t, map[string]string{}, docs...)
		c := m.client(nil, false)
		r := get(t, c, "http://ch.example/status/200")
		if r.status != 200 || r.header.Get("X-Custom") != "from-upstream" || r.header.Get("X-Team") != "" {
			t.Errorf("ch.example: %d %v", r.status, r.header)
		}
	})
}

// TestConfigMapForwardedFor: forwarded-for-header names the header that
// carries the client address, and compute-full-forwarded-for appends the
// peer to X-Forwarded-For instead of replacing it; block-cidrs and the
// source ranges judge the real client address.
func TestConfigMapForwardedFor(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	docs := []string{
		service("default", "app", appAddr),
		ingress("default", "ff", "ff.example", "", "/", "app"),
		annIngress("ffallow", "ffallow.example", "app", map[string]string{"allowlist-source-range": "198.51.100.0/24"}),
	}

	t.Run("forwarded-for-header and compute-full-forwarded-for", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{
			"use-forwarded-headers":      "true",
			"forwarded-for-header":       "X-Client-IP",
			"compute-full-forwarded-for": "true",
			"block-cidrs":                "192.0.2.0/24",
		}, docs...)
		c := m.client(nil, false)
		r := req(t, c, "GET", "http://ff.example/", map[string]string{"X-Client-IP": "198.51.100.9", "X-Forwarded-For": "203.0.113.7"})
		if r.status != 200 || r.echoHeader("X-Real-Ip") != "198.51.100.9" || r.echoHeader("X-Forwarded-For") != "203.0.113.7, 127.0.0.1" {
			t.Errorf("client from X-Client-IP: %d %v", r.status, r.echo.Headers)
		}
		// X-Forwarded-For is not the client header here.
		r = req(t, c, "GET", "http://ff.example/", map[string]string{"X-Forwarded-For": "192.0.2.5"})
		if r.status != 200 || r.echoHeader("X-Real-Ip") != "127.0.0.1" || r.echoHeader("X-Forwarded-For") != "192.0.2.5, 127.0.0.1" {
			t.Errorf("X-Forwarded-For only: %d %v", r.status, r.echo.Headers)
		}
		r = req(t, c, "GET", "http://ff.example/", nil)
		if r.status != 200 || r.echoHeader("X-Real-Ip") != "127.0.0.1" || r.echoHeader("X-Forwarded-For") != "127.0.0.1" {
			t.Errorf("no forwarded headers: %d %v", r.status, r.echo.Headers)
		}
		// The allowlist and block-cidrs see the address from X-Client-IP.
		if r := req(t, c, "GET", "http://ffallow.example/", map[string]string{"X-Client-IP": "198.51.100.20"}); r.status != 200 {
			t.Errorf("allowlisted client: %d", r.status)
		}
		if r := req(t, c, "GET", "http://ffallow.example/", nil); r.status != 403 {
			t.Errorf("peer not in allowlist: %d", r.status)
		}
		if r := req(t, c, "GET", "http://ff.example/", map[string]string{"X-Client-IP": "192.0.2.5"}); r.status != 403 {
			t.Errorf("blocked client: %d", r.status)
		}
	})

	t.Run("compute-full-forwarded-for with X-Forwarded-For", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"use-forwarded-headers": "true", "compute-full-forwarded-for": "true"}, docs...)
		c := m.client(nil, false)
		r := req(t, c, "GET", "http://ff.example/", map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"})
		if r.status != 200 || r.echoHeader("X-Real-Ip") != "203.0.113.7" || r.echoHeader("X-Forwarded-For") != "203.0.113.7, 198.51.100.1, 127.0.0.1" {
			t.Errorf("appended: %d %v", r.status, r.echo.Headers)
		}
	})

	t.Run("without compute-full-forwarded-for", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"use-forwarded-headers": "true", "forwarded-for-header": "X-Client-IP"}, docs...)
		c := m.client(nil, false)
		r := req(t, c, "GET", "http://ff.example/", map[string]string{"X-Client-IP": "198.51.100.9", "X-Forwarded-For": "203.0.113.7"})
		if r.status != 200 || r.echoHeader("X-Real-Ip") != "198.51.100.9" || r.echoHeader("X-Forwarded-For") != "198.51.100.9" {
			t.Errorf("replaced by the client address: %d %v", r.status, r.echo.Headers)
		}
	})

	t.Run("forwarded headers not trusted", func(t *testing.T) {
		// use-forwarded-headers false (default): the headers are not
		// believed, whatever forwarded-for-header says.
		m := startWithConfigMap(t, map[string]string{"forwarded-for-header": "X-Client-IP", "block-cidrs": "192.0.2.0/24"}, docs...)
		c := m.client(nil, false)
		if r := req(t, c, "GET", "http://ff.example/", map[string]string{"X-Client-IP": "192.0.2.5"}); r.status != 200 {
			t.Errorf("spoofed blocked address: %d", r.status)
		}
		if r := req(t, c, "GET", "http://ffallow.example/", map[string]string{"X-Client-IP": "198.51.100.20"}); r.status != 403 {
			t.Errorf("spoofed allowed address: %d", r.status)
		}
	})
}

// TestConfigMapBlockCIDRs: block-cidrs answers 403 on every host, known
// or not, over HTTP and HTTPS.
func TestConfigMapBlockCIDRs(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	docs := []string{service("default", "app", appAddr), ingress("default", "site", "site.example", "", "/", "app")}

	t.Run("blocked", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"block-cidrs": "10.0.0.0/8, 127.0.0.1"}, docs...)
		c := m.client(nil, false)
		for _, u := range []string{"http://site.example/", "https://site.example/x", "http://unknown.example/"} {
			if r := get(t, c, u); r.status != 403 {
				t.Errorf("%s: %d", u, r.status)
			}
		}
	})
	t.Run("not blocked", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"block-cidrs": "10.0.0.0/8, ::1"}, docs...)
		c := m.client(nil, false)
		if r := get(t, c, "http://site.example/"); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("not blocked: %d", r.status)
		}
	})
}

// TestConfigMapWhitelistSourceRange: the ConfigMap's whitelist-source-range
// is every location's allowlist unless the Ingress sets its own.
func TestConfigMapWhitelistSourceRange(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	docs := []string{
		service("default", "app", appAddr),
		ingress("default", "wl", "wl.example", "", "/", "app"),
		annIngress("wlown", "wlown.example", "app", map[string]string{"allowlist-source-range": "127.0.0.1/32"}),
		annIngress("wlalias", "wlalias.example", "app", map[string]string{"whitelist-source-range": "127.0.0.0/8"}),
		annIngress("wlnarrow", "wlnarrow.example", "app", map[string]string{"whitelist-source-range": "192.168.0.0/16"}),
		annIngress("wldeny", "wldeny.example", "app", map[string]string{"denylist-source-range": "192.168.0.0/16"}),
	}

	t.Run("not allowed", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"whitelist-source-range": "10.0.0.0/8"}, docs...)
		c := m.client(nil, false)
		for host, want := range map[string]int{
			"wl.example":       403, // the global allowlist
			"wlown.example":    200, // its own allowlist replaces it
			"wlalias.example":  200,
			"wlnarrow.example": 403,
			"wldeny.example":   403, // a denylist alone keeps the global allowlist
		} {
			if r := get(t, c, "http://"+host+"/"); r.status != want {
				t.Errorf("%s: %d, want %d", host, r.status, want)
			}
		}
		if r := get(t, c, "https://wl.example/"); r.status != 403 {
			t.Errorf("https: %d", r.status)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"whitelist-source-range": "10.0.0.0/8, 127.0.0.1"}, docs...)
		c := m.client(nil, false)
		for host, want := range map[string]int{"wl.example": 200, "wlown.example": 200, "wlnarrow.example": 403, "wldeny.example": 200} {
			if r := get(t, c, "http://"+host+"/"); r.status != want {
				t.Errorf("%s: %d, want %d", host, r.status, want)
			}
		}
	})
}

// TestConfigMapNoTLSRedirectLocations: locations whose path starts with
// one of no-tls-redirect-locations (default /.well-known/acme-challenge)
// are served over plain HTTP on a host that otherwise redirects to HTTPS.
// As in ingress-nginx the test is on the location's path, not the
// request's.
func TestConfigMapNoTLSRedirectLocations(t *testing.T) {
	ca := newCA(t)
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	solver := startEcho(t, "127.0.0.1:0", "solver")
	plain := startEcho(t, "127.0.0.1:0", "plain")
	docs := []string{
		ca.secret(t, "default", "site-tls", "nt.example"),
		service("default", "app", appAddr),
		service("default", "solver", solver),
		service("default", "plain", plain),
		ingress("default", "site", "nt.example", "site-tls", "/", "app", "/plain", "plain"),
		// cert-manager's HTTP-01 solver Ingress for the same host.
		ingress("default", "solver", "nt.example", "", "/.well-known/acme-challenge/tok123", "solver"),
	}

	t.Run("default", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{}, docs...)
		c := m.client(ca.pool, false)
		if r := get(t, c, "http://nt.example/.well-known/acme-challenge/tok123"); r.status != 200 || r.echo.Name != "solver" {
			t.Errorf("ACME challenge over HTTP: %d %q %q", r.status, r.echo.Name, r.header.Get("Location"))
		}
		for _, p := range []string{"/", "/x", "/plain/x"} {
			if r := get(t, c, "http://nt.example"+p); r.status != 308 {
				t.Errorf("%s: %d, want 308", p, r.status)
			}
		}
	})
	t.Run("configured", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"no-tls-redirect-locations": "/plain, /other"}, docs...)
		c := m.client(ca.pool, false)
		for _, p := range []string{"/plain", "/plain/x"} {
			if r := get(t, c, "http://nt.example"+p); r.status != 200 || r.echo.Name != "plain" {
				t.Errorf("%s: %d %q", p, r.status, r.echo.Name)
			}
		}
		// The list replaces the default: the ACME location is redirected.
		if r := get(t, c, "http://nt.example/.well-known/acme-challenge/tok123"); r.status != 308 {
			t.Errorf("ACME challenge with a replaced list: %d", r.status)
		}
		// /plainly and /other/x are served by the "/" location, which is
		// not in the list: redirected.
		for _, p := range []string{"/x", "/plainly", "/other/x"} {
			if r := get(t, c, "http://nt.example"+p); r.status != 308 || r.header.Get("Location") != "https://nt.example"+p {
				t.Errorf("%s: %d %q, want 308", p, r.status, r.header.Get("Location"))
			}
		}
		if r := get(t, c, "https://nt.example/plain/x"); r.status != 200 || r.echo.Name != "plain" {
			t.Errorf("https: %d", r.status)
		}
	})
}

// TestConfigMapServerSnippet: with snippets allowed, server-snippet's
// response header directives reach every response of the host (the
// oldest Ingress wins); anything else refuses it whole. auth-snippet is
// never applied.
func TestConfigMapServerSnippet(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	ingWith := func(name, host, path string, ann map[string]string) string {
		s := annIngress(name, host, "app", ann)
		return strings.Replace(s, "{path: /,", fmt.Sprintf("{path: %s,", path), 1)
	}
	m := startWithConfigMap(t, map[string]string{"allow-snippet-annotations": "true", "annotations-risk-level": "Critical"},
		service("default", "app", appAddr),
		ingWith("srv", "srv.example", "/app", map[string]string{"server-snippet": "more_set_headers \"X-Server: s\";\nadd_header X-Added 1;"}),
		ingWith("srvbad", "srvbad.example", "/", map[string]string{"server-snippet": "more_set_headers \"X-Server: s\";\nproxy_set_header X-Up 1;"}),
		ingWith("authsnip", "authsnip.example", "/", map[string]string{"auth-snippet": "proxy_set_header X-A 1;"}),
	)
	c := m.client(nil, false)
	r := get(t, c, "http://srv.example/app/x")
	if r.status != 200 || r.header.Get("X-Server") != "s" || r.header.Get("X-Added") != "1" {
		t.Errorf("matched path: %d %v", r.status, r.header)
	}
	// An unmatched path of the host gets the server headers too;
	// add_header only on 2xx/3xx.
	r = get(t, c, "http://srv.example/elsewhere")
	if r.status != 404 || r.header.Get("X-Server") != "s" || r.header.Get("X-Added") != "" {
		t.Errorf("unmatched path: %d %v", r.status, r.header)
	}
	// A refused server-snippet applies nothing; the host is still served.
	r = get(t, c, "http://srvbad.example/")
	if r.status != 200 || r.header.Get("X-Server") != "" || r.echoHeader("X-Up") != "" {
		t.Errorf("refused server-snippet: %d %v %v", r.status, r.header, r.echo.Headers)
	}
	// auth-snippet is refused (never nginx directives); the rest is served.
	r = get(t, c, "http://authsnip.example/")
	if r.status != 200 || r.echoHeader("X-A") != "" {
		t.Errorf("auth-snippet: %d %v", r.status, r.echo.Headers)
	}
}
