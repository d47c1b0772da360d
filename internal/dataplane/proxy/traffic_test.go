package proxy

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestSameSiteNoneCompatible(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36": true,
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029 Safari/537.36":   false,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 12_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)":       false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605":   false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605":   true,
		"curl/8.5.0": true,
	} {
		if got := sameSiteNoneCompatible(ua); got != want {
			t.Errorf("%s: %v", ua, got)
		}
	}
}

func TestAffinityCookie(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := httptest.NewRequest("GET", "http://a.example/x", nil)
	rt := &routecfg.Route{Path: "/shop", Match: routecfg.MatchPrefix}
	a := &routecfg.Affinity{CookieName: "INGRESSCOOKIE", HasMaxAge: true, MaxAge: 0, HasExpires: true, Expires: 60}
	c := affinityCookie(a, "k|p", r, rt, now)
	for _, want := range []string{"INGRESSCOOKIE=k|p", "Path=/shop", "Max-Age=0", "Expires=Fri, 02 Jan 2026 03:05:05 GMT", "HttpOnly"} {
		if !strings.Contains(c, want) {
			t.Errorf("%q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Secure") {
		t.Errorf("plain HTTP cookie is Secure: %q", c)
	}
	// A regex route has no usable cookie path: "/".
	rx := &routecfg.Route{Path: "/api/v[0-9]+", Match: routecfg.MatchRegex, Regex: regexp.MustCompile("^/api")}
	if c := affinityCookie(&routecfg.Affinity{CookieName: "x"}, "v", r, rx, now); !strings.Contains(c, "Path=/;") && !strings.HasSuffix(c, "Path=/") {
		t.Errorf("regex route cookie path: %q", c)
	}
}

// TestTrafficHotPathDoesNotAllocate: a route without a policy pays for
// the traffic families' gate and endpoint choice without an allocation.
func TestTrafficHotPathDoesNotAllocate(t *testing.T) {
	cfg := config([]*routecfg.Pool{pool("a", "127.0.0.1:1", "127.0.0.2:1")},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "a")}})
	f := newFixture(t, cfg, false)
	r := httptest.NewRequest(http.MethodPost, "http://foo.com/x", strings.NewReader("body"))
	st := &reqState{}
	st.vh, st.rt = cfg.VirtualHosts[0], cfg.VirtualHosts[0].Routes[0]
	n := testing.AllocsPerRun(200, func() {
		st.tr = trafficReq{}
		if f.h.trafficGate(st, r) {
			t.Fatal("gate answered")
		}
		if f.h.pickEndpoint(st, r, st.rt.Pool) == nil {
			t.Fatal("no endpoint")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per request without a policy", n)
	}
}

// TestCanaryDecision: header, then cookie, then weight; a canary without
// endpoints takes nothing.
func TestCanaryDecision(t *testing.T) {
	cfg := config([]*routecfg.Pool{pool("main", "127.0.0.1:1"), pool("beta", "127.0.0.2:1"), pool("empty")},
		&routecfg.VirtualHost{Host: "foo.com"})
	f := newFixture(t, cfg, false)
	c := &routecfg.Canary{Pool: "beta", Header: "X-Canary", Cookie: "c", Weight: 0, WeightTotal: 100}
	st := &reqState{rt: &routecfg.Route{Pool: "main", Policy: &routecfg.RoutePolicy{Canary: c}}}
	for _, tc := range []struct {
		hdr  []string
		want bool
	}{
		{nil, false},
		{[]string{"X-Canary", "always"}, true},
		{[]string{"X-Canary", "never", "Cookie", "c=always"}, false},
		{[]string{"X-Canary", "other", "Cookie", "c=always"}, true},
		{[]string{"Cookie", "c=never"}, false},
	} {
		r := httptest.NewRequest("GET", "http://foo.com/", nil)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			r.Header.Add(tc.hdr[i], tc.hdr[i+1])
		}
		if got := f.h.toCanary(st, r, c); got != tc.want {
			t.Errorf("%v: %v", tc.hdr, got)
		}
	}
	all := &routecfg.Canary{Pool: "beta", Weight: 100, WeightTotal: 100}
	if !f.h.toCanary(st, httptest.NewRequest("GET", "http://foo.com/", nil), all) {
		t.Error("weight 100 did not go to the canary")
	}
	empty := &routecfg.Canary{Pool: "empty", Weight: 100, WeightTotal: 100}
	if f.h.toCanary(st, httptest.NewRequest("GET", "http://foo.com/", nil), empty) {
		t.Error("a canary without endpoints took the request")
	}
}

func TestReverseProxyFlushes(t *testing.T) {
	for _, tc := range []struct {
		length int64
		ct     string
		want   bool
	}{
		{-1, "text/plain", true},
		{10, "text/event-stream", true},
		{10, "Text/Event-Stream; charset=utf-8", true},
		{10, "text/event-streams", false},
		{10, "text/plain", false},
		{10, "", false},
	} {
		res := &http.Response{ContentLength: tc.length, Header: http.Header{"Content-Type": {tc.ct}}}
		if got := reverseProxyFlushes(res); got != tc.want {
			t.Errorf("length %d, %q: %v, want %v", tc.length, tc.ct, got, tc.want)
		}
	}
}
