package routecfg

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/waf"
)

// TestDumpShowsEveryFamily sets each RoutePolicy field alone and checks
// that Dump shows it: a family missing here, or invisible in Dump, fails,
// so golden files and /debug/config can show every family.
func TestDumpShowsEveryFamily(t *testing.T) {
	samples := map[string]*RoutePolicy{
		"Redirect":     {Redirect: &Redirect{URL: "https://example.org", Code: 301}},
		"CORS":         {CORS: &CORS{AnyOrigin: true}},
		"Access":       {Access: &Access{}},
		"BasicAuth":    {BasicAuth: &BasicAuth{}},
		"ExternalAuth": {ExternalAuth: &ExternalAuth{}},
		"Headers":      {Headers: &Headers{}},
		"ErrorPages":   {ErrorPages: &ErrorPages{Codes: []int{404}}},
		"Logging":      {Logging: &Logging{}},
		"ProxyRewrite": {ProxyRewrite: &ProxyRewrite{}},
		"Tracing":      {Tracing: &RouteTracing{}},
		"WAF":          {WAF: &WAF{Engine: &waf.Engine{}}},
		"Canary":       {Canary: &Canary{}},
		"Affinity":     {Affinity: &Affinity{}},
		"Balance":      {Balance: &Balance{}},
		"Limits":       {Limits: &Limits{}},
		"Body":         {Body: &Body{}},
		"Timeouts":     {Timeouts: &Timeouts{}},
	}
	dump := func(p *RoutePolicy) string {
		return Dump(&Config{VirtualHosts: []*VirtualHost{{Host: "a.example", Routes: []*Route{{Path: "/", Pool: "p", Policy: p}}}}})
	}
	none := dump(nil)
	typ := reflect.TypeFor[RoutePolicy]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		p, ok := samples[name]
		if !ok {
			t.Errorf("RoutePolicy.%s has no sample here: add one, and show the family in Dump", name)
			continue
		}
		if got := dump(p); got == none {
			t.Errorf("RoutePolicy.%s set alone is invisible in Dump:\n%s", name, got)
		}
	}
	if len(samples) != typ.NumField() {
		t.Errorf("%d samples for %d RoutePolicy fields", len(samples), typ.NumField())
	}
	host := Dump(&Config{VirtualHosts: []*VirtualHost{{Host: "a.example", Policy: &HostPolicy{AppRoot: "/app"}}}})
	if !strings.Contains(host, "app-root=/app") {
		t.Errorf("host policy invisible in Dump:\n%s", host)
	}
}
