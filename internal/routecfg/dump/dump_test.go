package dump

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/waf"
)

// TestDumpShowsEveryFamily sets each RoutePolicy field alone and checks
// that Dump shows it: a family missing here, or invisible in Dump, fails,
// so golden files and /debug/config can show every family.
func TestDumpShowsEveryFamily(t *testing.T) {
	samples := map[string]*routecfg.RoutePolicy{
		"Redirect":     {Redirect: &routecfg.Redirect{URL: "https://example.org", Code: 301}},
		"CORS":         {CORS: &routecfg.CORS{AnyOrigin: true}},
		"Access":       {Access: &routecfg.Access{}},
		"BasicAuth":    {BasicAuth: &routecfg.BasicAuth{}},
		"ExternalAuth": {ExternalAuth: &routecfg.ExternalAuth{}},
		"Headers":      {Headers: &routecfg.Headers{}},
		"ErrorPages":   {ErrorPages: &routecfg.ErrorPages{Codes: []int{404}}},
		"Logging":      {Logging: &routecfg.Logging{}},
		"ProxyRewrite": {ProxyRewrite: &routecfg.ProxyRewrite{}},
		"Tracing":      {Tracing: &routecfg.RouteTracing{}},
		"WAF":          {WAF: &routecfg.WAF{Engine: &waf.Engine{}}},
		"Canary":       {Canary: &routecfg.Canary{}},
		"Affinity":     {Affinity: &routecfg.Affinity{}},
		"Balance":      {Balance: &routecfg.Balance{}},
		"Limits":       {Limits: &routecfg.Limits{}},
		"Body":         {Body: &routecfg.Body{}},
		"Timeouts":     {Timeouts: &routecfg.Timeouts{}},
	}
	dump := func(p *routecfg.RoutePolicy) string {
		return Config(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "a.example", Routes: []*routecfg.Route{{Path: "/", Pool: "p", Policy: p}}}}})
	}
	none := dump(nil)
	typ := reflect.TypeFor[routecfg.RoutePolicy]()
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
	host := Config(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "a.example", Policy: &routecfg.HostPolicy{AppRoot: "/app"}}}})
	if !strings.Contains(host, "app-root=/app") {
		t.Errorf("host policy invisible in Dump:\n%s", host)
	}
}
