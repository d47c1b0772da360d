package respheaders

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestRewriteResponseHeaders: nginx's proxy_redirect on Location and
// Refresh, proxy_cookie_domain and proxy_cookie_path on Set-Cookie.
func TestRewriteResponseHeaders(t *testing.T) {
	p := &routecfg.ProxyRewrite{
		Redirect:     &routecfg.TextRewrite{From: "http://svc:8080/app/", To: "https://www.example.com/"},
		CookieDomain: &routecfg.TextRewrite{From: "backend.local", To: "example.com"},
		CookiePath:   &routecfg.TextRewrite{From: "/app", To: "/"},
	}
	h := http.Header{
		"Location": {"http://svc:8080/app/login?next=/x"},
		"Refresh":  {"5; URL=http://svc:8080/app/later"},
		"Set-Cookie": {
			"a=1; Domain=.BACKEND.local; Path=/app/sub;HttpOnly",
			"b=2; domain=backend.local.evil; path=/other",
			"c=3; Path=/application",
			"novalue; Domain=backend.local",
			"d=4",
		},
	}
	ProxyRewrite(p, h)
	want := http.Header{
		"Location": {"https://www.example.com/login?next=/x"},
		"Refresh":  {"5; URL=https://www.example.com/later"},
		"Set-Cookie": {
			"a=1; Domain=.example.com; Path=//sub; HttpOnly",
			"b=2; domain=backend.local.evil; path=/other",
			"c=3; Path=/lication",
			"novalue; Domain=backend.local",
			"d=4",
		},
	}
	for k, v := range want {
		for i := range v {
			if i >= len(h[k]) || h[k][i] != v[i] {
				t.Errorf("%s[%d] = %q, want %q", k, i, h[k], v[i])
			}
		}
	}
	// Case-sensitive prefix for Location; a regex replaces the value whole.
	h = http.Header{"Location": {"HTTP://svc:8080/app/x"}}
	ProxyRewrite(p, h)
	if h.Get("Location") != "HTTP://svc:8080/app/x" {
		t.Errorf("case-insensitive Location match: %q", h.Get("Location"))
	}
	re := &routecfg.ProxyRewrite{Redirect: &routecfg.TextRewrite{Regex: regexp.MustCompile("svc:80.."), To: "/moved"},
		CookiePath: &routecfg.TextRewrite{Regex: regexp.MustCompile("^/app"), To: "/"}}
	h = http.Header{"Location": {"http://svc:8081/x"}, "Set-Cookie": {"a=1; Path=/app/x"}}
	ProxyRewrite(re, h)
	if h.Get("Location") != "/moved" || h.Get("Set-Cookie") != "a=1; Path=/" {
		t.Errorf("regex: %v", h)
	}
}
