package proxyrewrite

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/diag"
)

func TestParseGood(t *testing.T) {
	r := annotest.Reader("proxy-redirect-from", "http://svc.internal:8080/app/", "proxy-redirect-to", "https://www.example.com/",
		"proxy-cookie-domain", ".backend.local  example.com", "proxy-cookie-path", "/app/ /")
	p := Parse(r)
	annotest.NoDiags(t, r)
	if p == nil || p.Redirect == nil || p.Redirect.From != "http://svc.internal:8080/app/" || p.Redirect.To != "https://www.example.com/" || p.Redirect.Regex != nil {
		t.Fatalf("redirect: %+v", p)
	}
	if d := p.CookieDomain; d == nil || d.From != "backend.local" || d.To != "example.com" {
		t.Errorf("cookie domain: %+v", d)
	}
	if c := p.CookiePath; c == nil || c.From != "/app/" || c.To != "/" {
		t.Errorf("cookie path: %+v", c)
	}
	// Regexes after "~"; the domain one is case-insensitive, as nginx's.
	r = annotest.Reader("proxy-redirect-from", "~http://svc.internal:80../", "proxy-redirect-to", "/", "proxy-cookie-domain", "~backend.local example.com", "proxy-cookie-path", "~/a.c /x")
	p = Parse(r)
	annotest.NoDiags(t, r)
	if p.Redirect.Regex == nil || !p.Redirect.Regex.MatchString("http://svc.internal:8081/x") || !p.CookieDomain.Regex.MatchString("BACKEND.local") ||
		!p.CookiePath.Regex.MatchString("/abc") || p.CookiePath.Regex.MatchString("/ABC") {
		t.Errorf("regexes: %+v", p)
	}
}

// TestOff: off and default are no-ops, as ingress-nginx's template writes
// proxy_redirect off|default and nothing else.
func TestOff(t *testing.T) {
	for _, kv := range [][]string{
		nil,
		{"proxy-redirect-from", "off"},
		{"proxy-redirect-from", "default"},
		{"proxy-redirect-from", "off", "proxy-redirect-to", "off"},
		{"proxy-cookie-domain", "off", "proxy-cookie-path", "off"},
	} {
		r := annotest.Reader(kv...)
		if p := Parse(r); p != nil {
			t.Errorf("%v: %+v", kv, p)
		}
		annotest.NoDiags(t, r)
	}
}

// TestIncomplete: one half of proxy_redirect does nothing; said so.
func TestIncomplete(t *testing.T) {
	for _, tc := range []struct {
		kv     []string
		key    string
		reason string
	}{
		{[]string{"proxy-redirect-from", "http://a/"}, "proxy-redirect-from", "ProxyRedirectToMissing"},
		{[]string{"proxy-redirect-from", "http://a/", "proxy-redirect-to", "off"}, "proxy-redirect-from", "ProxyRedirectToMissing"},
		{[]string{"proxy-redirect-from", "default", "proxy-redirect-to", "http://b/"}, "proxy-redirect-to", "ProxyRedirectFromMissing"},
	} {
		r := annotest.Reader(tc.kv...)
		if p := Parse(r); p != nil {
			t.Errorf("%v: %+v", tc.kv, p)
		}
		if len(r.Diags) != 1 || r.Diags[0].Reason != tc.reason || r.Diags[0].Severity != diag.Warning ||
			r.Diags[0].Field != "metadata.annotations.nginx.ingress.kubernetes.io/"+tc.key {
			t.Errorf("%v: %v", tc.kv, r.Diags)
		}
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"proxy-redirect-from", "http://$host/"},
		{"proxy-redirect-from", "~?"},
		{"proxy-redirect-from", "http://a/ http://b/"},
		{"proxy-cookie-domain", "example.com"},
		{"proxy-cookie-domain", "a.example b.example c.example"},
		{"proxy-cookie-domain", "a.example b.example?x=1"},
		{"proxy-cookie-domain", "$host example.com"},
		{"proxy-cookie-path", "/a"},
		{"proxy-cookie-path", "/a /b;"},
		{"proxy-cookie-path", "~* /"},
	} {
		kv := []string{tc.key, tc.value}
		if tc.key == "proxy-redirect-from" {
			kv = append(kv, "proxy-redirect-to", "/")
		}
		r := annotest.Reader(kv...)
		if p := Parse(r); p != nil {
			t.Errorf("%s=%q applied: %+v", tc.key, tc.value, p)
		}
		annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
	}
	r := annotest.Reader("proxy-redirect-from", "/", "proxy-redirect-to", "http://$host/")
	if Parse(r) != nil {
		t.Error("a variable in proxy-redirect-to applied")
	}
	annotest.WantDiag(t, r, "proxy-redirect-to", "http://$host/", "AnnotationInvalidValue")
}
