package vars

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestCookieValue(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; INGRESSCOOKIE=abc|def", `b="quoted"`, "c"}}
	for name, want := range map[string]string{"a": "1", "INGRESSCOOKIE": "abc|def", "b": "quoted"} {
		if v, ok := CookieValue(h, name); !ok || v != want {
			t.Errorf("%s: %q %v", name, v, ok)
		}
	}
	for _, name := range []string{"c", "d", "INGRESS"} {
		if v, ok := CookieValue(h, name); ok {
			t.Errorf("%s found: %q", name, v)
		}
	}
}

func TestQueryArg(t *testing.T) {
	q := "a=1&id=42&id=43&b&enc=x%20y"
	for name, want := range map[string]string{"a": "1", "id": "42", "b": "", "enc": "x%20y", "zz": ""} {
		if v := QueryArg(q, name); v != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
}

// TestHashKeySources: each nginx variable reads its part of the request.
func TestHashKeySources(t *testing.T) {
	base := func() *http.Request {
		r := httptest.NewRequest("GET", "http://Shop.Example:8080/a/b?id=7&x=1", nil)
		r.RemoteAddr = "192.0.2.9:5555"
		r.Header.Set("X-User", "alice")
		r.Header.Set("Cookie", "sid=abc")
		return r
	}
	for _, tc := range []struct {
		part   routecfg.HashPart
		change func(*http.Request)
	}{
		{routecfg.HashPart{Source: routecfg.HashRequestURI}, func(r *http.Request) { r.RequestURI = "/a/b?id=8" }},
		{routecfg.HashPart{Source: routecfg.HashURI}, func(r *http.Request) { r.URL.Path = "/a/c" }},
		{routecfg.HashPart{Source: routecfg.HashArgs}, func(r *http.Request) { r.URL.RawQuery = "id=8" }},
		{routecfg.HashPart{Source: routecfg.HashHost}, func(r *http.Request) { r.Host = "other.example" }},
		{routecfg.HashPart{Source: routecfg.HashRemoteAddr}, func(r *http.Request) { r.RemoteAddr = "192.0.2.10:5555" }},
		{routecfg.HashPart{Source: routecfg.HashHeader, Name: "X-User"}, func(r *http.Request) { r.Header.Set("X-User", "bob") }},
		{routecfg.HashPart{Source: routecfg.HashCookie, Name: "sid"}, func(r *http.Request) { r.Header.Set("Cookie", "sid=def") }},
		{routecfg.HashPart{Source: routecfg.HashArg, Name: "id"}, func(r *http.Request) { r.URL.RawQuery = "id=8&x=1" }},
		{routecfg.HashPart{Source: routecfg.HashMethod}, func(r *http.Request) { r.Method = "POST" }},
	} {
		parts := []routecfg.HashPart{tc.part}
		a, b := base(), base()
		if Hash(a, netip.Addr{}, parts) != Hash(b, netip.Addr{}, parts) {
			t.Errorf("%v: equal requests hash apart", tc.part)
		}
		tc.change(b)
		if Hash(a, netip.Addr{}, parts) == Hash(b, netip.Addr{}, parts) {
			t.Errorf("%v: the change did not change the key", tc.part)
		}
	}
	// $host ignores case and port; $remote_addr ignores the port.
	a, b := base(), base()
	b.Host, b.RemoteAddr = "shop.example", "192.0.2.9:1"
	for _, p := range []routecfg.HashPart{{Source: routecfg.HashHost}, {Source: routecfg.HashRemoteAddr}} {
		if Hash(a, netip.Addr{}, []routecfg.HashPart{p}) != Hash(b, netip.Addr{}, []routecfg.HashPart{p}) {
			t.Errorf("%v differs on case or port", p)
		}
	}
}
