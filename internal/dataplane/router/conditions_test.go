package router

import (
	"crypto/tls"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Routes with conditions are tried in order; one whose conditions fail
// lets the next route with the same path answer, on hosts above the
// index threshold too.
func TestLookupConditions(t *testing.T) {
	rts := []*routecfg.Route{
		{Path: "/api", Match: routecfg.MatchPrefix, Pool: "method", Conditions: &routecfg.Conditions{Method: "POST"}},
		{Path: "/api", Match: routecfg.MatchPrefix, Pool: "header", Conditions: &routecfg.Conditions{
			Headers: []routecfg.ValueMatch{{Name: "X-Version", Value: "v2"}}}},
		{Path: "/api", Match: routecfg.MatchPrefix, Pool: "query", Conditions: &routecfg.Conditions{
			Query: []routecfg.ValueMatch{{Name: "env", Regex: regexp.MustCompile("^(canary|beta)$")}}}},
		{Path: "/api", Match: routecfg.MatchPrefix, Pool: "https", Conditions: &routecfg.Conditions{Scheme: routecfg.SchemeHTTPS}},
		{Path: "/api", Match: routecfg.MatchPrefix, Pool: "plain"},
	}
	for n := 0; n < 20; n++ { // pad past indexThreshold
		rts = append(rts, &routecfg.Route{Path: "/pad" + string(rune('a'+n)), Match: routecfg.MatchExact, Pool: "pad"})
	}
	tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "a.com", Routes: rts}}})
	cases := []struct {
		method, target string
		hdr            map[string]string
		tls            bool
		want           string
	}{
		{"POST", "/api/x", nil, false, "method"},
		{"GET", "/api/x", map[string]string{"x-version": "v2"}, false, "header"},
		{"GET", "/api/x", map[string]string{"X-Version": "v3"}, false, "plain"},
		{"GET", "/api/x?a=1&env=beta", nil, false, "query"},
		{"GET", "/api/x?env=beta2", nil, false, "plain"},
		{"GET", "/api/x?%65nv=canary", nil, false, "query"},
		{"GET", "/api/x", nil, true, "https"},
		{"GET", "/api", nil, false, "plain"},
		{"GET", "/padc", nil, false, "pad"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "http://a.com"+c.target, nil)
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		if c.tls {
			req.TLS = &tls.ConnectionState{}
		}
		_, rt := tab.LookupRequest("a.com", req.URL.Path, req)
		if rt == nil || rt.Pool != c.want {
			t.Errorf("%s %s %v tls=%v: got %v, want %s", c.method, c.target, c.hdr, c.tls, rt, c.want)
		}
	}
	// Without a request, conditional routes never match.
	if _, rt := tab.Lookup("a.com", "/api"); rt == nil || rt.Pool != "plain" {
		t.Errorf("Lookup without request: %v", rt)
	}
}

func TestQueryValue(t *testing.T) {
	for _, c := range []struct {
		raw, name, want string
		ok              bool
	}{
		{"a=1&b=2", "b", "2", true},
		{"a=1&a=2", "a", "1", true},
		{"a", "a", "", true},
		{"ab=1", "a", "", false},
		{"a=%zz", "a", "%zz", true},
		{"a=x+y", "a", "x y", true},
		{"", "a", "", false},
	} {
		got, ok := queryValue(c.raw, c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("queryValue(%q, %q) = %q, %v", c.raw, c.name, got, ok)
		}
	}
}
