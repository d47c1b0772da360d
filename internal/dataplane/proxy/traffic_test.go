package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

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
		if got := f.h.balancer.ToCanary(r, st.rt, c); got != tc.want {
			t.Errorf("%v: %v", tc.hdr, got)
		}
	}
	all := &routecfg.Canary{Pool: "beta", Weight: 100, WeightTotal: 100}
	if !f.h.balancer.ToCanary(httptest.NewRequest("GET", "http://foo.com/", nil), st.rt, all) {
		t.Error("weight 100 did not go to the canary")
	}
	empty := &routecfg.Canary{Pool: "empty", Weight: 100, WeightTotal: 100}
	if f.h.balancer.ToCanary(httptest.NewRequest("GET", "http://foo.com/", nil), st.rt, empty) {
		t.Error("a canary without endpoints took the request")
	}
}
