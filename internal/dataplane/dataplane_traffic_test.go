package dataplane

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestValidateTraffic(t *testing.T) {
	rt := &routecfg.Route{Path: "/", Match: routecfg.MatchPrefix, Pool: "a", Policy: &routecfg.RoutePolicy{
		Canary:   &routecfg.Canary{Pool: "missing", Weight: -1, WeightTotal: 100},
		Balance:  &routecfg.Balance{HashSubsetSize: -1},
		Affinity: &routecfg.Affinity{},
		Limits:   &routecfg.Limits{RPS: -1},
	}}
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{"a": {Key: "a"}},
		VirtualHosts: []*routecfg.VirtualHost{{Host: "a.example", Routes: []*routecfg.Route{rt}}}}
	err := Validate(cfg)
	if err == nil {
		t.Fatal("bad traffic policy accepted")
	}
	for _, want := range []string{`canary pool "missing"`, "canary weight", "hash subset", "cookie name", "negative limits"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	rt.Policy = &routecfg.RoutePolicy{Canary: &routecfg.Canary{Pool: "a", Weight: 5, WeightTotal: 100}}
	if err := Validate(cfg); err != nil {
		t.Errorf("good policy refused: %v", err)
	}
}
