package dataplane

import (
	"net/http"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestApplySharedPools: an apply whose config shares every pool and all
// but one host with the served one (what an incremental translate of one
// Ingress gives) serves the renamed host from the same pool, and the old
// name no longer.
func TestApplySharedPools(t *testing.T) {
	web := pool("ns/web:80", echoBackend(t, "web"))
	a := &routecfg.VirtualHost{Host: "a.example", Routes: []*routecfg.Route{prefix("/", web.Key)}}
	b := &routecfg.VirtualHost{Host: "b.example", Routes: []*routecfg.Route{prefix("/", web.Key)}}
	first := config([]*routecfg.Pool{web}, a, b)
	r := start(t, first)
	next := *first
	next.VirtualHosts = []*routecfg.VirtualHost{a, {Host: "c.example", Routes: []*routecfg.Route{prefix("/", web.Key)}}}
	if err := r.dp.Apply(&next); err != nil {
		t.Fatal(err)
	}
	c := r.client(false)
	for host, want := range map[string]int{"a.example": 200, "b.example": 404, "c.example": 200} {
		resp, body := do(t, c, http.MethodGet, "http://"+host+"/")
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", host, resp.StatusCode, want)
		} else if want == 200 && echoResp(t, body).Name != "web" {
			t.Errorf("%s: answered by %q, want web", host, echoResp(t, body).Name)
		}
	}
}

// TestApplySharedPoolsValidates: a config sharing pools, certificates and
// hosts with the served one is still refused for what its changed hosts
// get wrong, or for a host listed twice, and the served one stays.
func TestApplySharedPoolsValidates(t *testing.T) {
	web := pool("ns/web:80", echoBackend(t, "web"))
	a := &routecfg.VirtualHost{Host: "a.example", Routes: []*routecfg.Route{prefix("/", web.Key)}}
	first := config([]*routecfg.Pool{web}, a)
	r := start(t, first)
	for name, vhs := range map[string][]*routecfg.VirtualHost{
		"missing pool":     {a, {Host: "b.example", Routes: []*routecfg.Route{prefix("/", "ns/gone:80")}}},
		"missing cert":     {a, {Host: "b.example", Certificate: "ns/none"}},
		"listed twice":     {a, {Host: "A.example", Routes: []*routecfg.Route{prefix("/", web.Key)}}},
		"unknown match":    {a, {Host: "b.example", Routes: []*routecfg.Route{{Path: "/", Match: 99, Pool: web.Key}}}},
		"empty host":       {a, {Routes: []*routecfg.Route{prefix("/", web.Key)}}},
		"nil virtual host": {a, nil},
	} {
		next := *first
		next.VirtualHosts = vhs
		if err := r.dp.Apply(&next); err == nil {
			t.Errorf("%s: applied", name)
		}
		if r.dp.Config() != first {
			t.Fatalf("%s: the served config changed", name)
		}
	}
}
