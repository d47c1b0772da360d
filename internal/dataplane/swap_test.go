package dataplane

import (
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestDroppedPoolOutlivesTheSwap: a request that loaded the old snapshot
// just before a swap that drops its pool still finds the pool's endpoints
// (it would otherwise answer 503 mid-reload); the pool goes at the next
// apply.
func TestDroppedPoolOutlivesTheSwap(t *testing.T) {
	one := pool("ns/one:80", "127.0.0.1:1")
	two := pool("ns/two:80", "127.0.0.1:2")
	vh := func(p string) *routecfg.VirtualHost {
		return &routecfg.VirtualHost{Host: "a.example", Routes: []*routecfg.Route{prefix("/", p)}}
	}
	r := start(t, config([]*routecfg.Pool{one}, vh(one.Key)))
	if err := r.dp.Apply(config([]*routecfg.Pool{two}, vh(two.Key))); err != nil {
		t.Fatal(err)
	}
	if ep := r.dp.upstreams.Pick(one.Key); ep == nil || ep.Address != "127.0.0.1:1" {
		t.Fatalf("the dropped pool is gone right after the swap: %v", ep)
	}
	if err := r.dp.Apply(config([]*routecfg.Pool{two}, vh(two.Key))); err != nil {
		t.Fatal(err)
	}
	if ep := r.dp.upstreams.Pick(one.Key); ep != nil {
		t.Fatalf("the dropped pool is still there after the next apply: %v", ep)
	}
}
