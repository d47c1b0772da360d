package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestProxyRedirectAndCookies: proxy-redirect-from/-to rewrite the
// upstream's Location and Refresh, proxy-cookie-domain and
// proxy-cookie-path its Set-Cookie attributes, as nginx's proxy_redirect,
// proxy_cookie_domain and proxy_cookie_path; off, default and half a
// proxy_redirect leave them alone, and moat's own redirects are untouched.
func TestProxyRedirectAndCookies(t *testing.T) {
	dir := t.TempDir()
	up, _ := startHandler(t, "127.0.0.1:0", "app", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Location", "http://app.internal:8080/app/next?x=1")
		h.Set("Refresh", "3; url=http://app.internal:8080/app/later")
		h.Add("Set-Cookie", "sid=1; Domain=.app.internal; Path=/app/; HttpOnly")
		h.Add("Set-Cookie", "pref=2; Domain=elsewhere.example; Path=/other")
		w.WriteHeader(http.StatusFound)
	})
	all := map[string]string{
		"proxy-redirect-from": "http://app.internal:8080/app/", "proxy-redirect-to": "https://www.example.com/",
		"proxy-cookie-domain": "app.internal www.example.com", "proxy-cookie-path": "/app/ /",
	}
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", up),
		trafficIngress("all", "rw.example", all, "/", "app"),
		trafficIngress("regex", "regex.example", map[string]string{"proxy-redirect-from": "~app.internal:80..", "proxy-redirect-to": "/moved"}, "/", "app"),
		trafficIngress("default", "default.example", map[string]string{"proxy-redirect-from": "default"}, "/", "app"),
		trafficIngress("half", "half.example", map[string]string{"proxy-redirect-from": "http://app.internal:8080/"}, "/", "app"),
		trafficIngress("plain", "plain.example", nil, "/", "app"),
		trafficIngress("moved", "moved.example", map[string]string{"permanent-redirect": "http://app.internal:8080/app/x",
			"proxy-redirect-from": "http://app.internal:8080/app/", "proxy-redirect-to": "https://www.example.com/"}, "/", "app"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	r := get(t, c, "http://rw.example/app/start")
	if r.status != 302 || r.header.Get("Location") != "https://www.example.com/next?x=1" || r.header.Get("Refresh") != "3; url=https://www.example.com/later" {
		t.Errorf("proxy_redirect: %d Location %q Refresh %q", r.status, r.header.Get("Location"), r.header.Get("Refresh"))
	}
	cookies := r.header.Values("Set-Cookie")
	if len(cookies) != 2 || cookies[0] != "sid=1; Domain=.www.example.com; Path=/; HttpOnly" || cookies[1] != "pref=2; Domain=elsewhere.example; Path=/other" {
		t.Errorf("proxy_cookie_domain/path: %q", cookies)
	}
	if r := get(t, c, "http://regex.example/"); r.header.Get("Location") != "/moved" {
		t.Errorf("regex proxy_redirect: Location %q", r.header.Get("Location"))
	}
	for _, host := range []string{"default.example", "half.example", "plain.example"} {
		r := get(t, c, "http://"+host+"/")
		if r.header.Get("Location") != "http://app.internal:8080/app/next?x=1" || r.header.Values("Set-Cookie")[0] != "sid=1; Domain=.app.internal; Path=/app/; HttpOnly" {
			t.Errorf("%s changed the upstream's headers: %v", host, r.header)
		}
	}
	// nginx's proxy_redirect applies to proxied responses, not to the
	// location's own return.
	if r := get(t, c, "http://moved.example/"); r.status != 301 || r.header.Get("Location") != "http://app.internal:8080/app/x" {
		t.Errorf("permanent-redirect with proxy_redirect: %d %q", r.status, r.header.Get("Location"))
	}
	if d := m.diagnostics(t); !strings.Contains(d, "ProxyRedirectToMissing") || !strings.Contains(d, pfx+"proxy-redirect-from") {
		t.Errorf("no diagnostic for half a proxy_redirect:\n%s", d)
	}
}
