package router

import (
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestCompileFrom: a host whose VirtualHost is the same pointer keeps its
// compiled form; a new VirtualHost for the same name, a new host, a
// removed host and a new catch-all are all what Compile gives.
func TestCompileFrom(t *testing.T) {
	route := func(path string, status int) *routecfg.Route {
		return &routecfg.Route{Path: path, Match: routecfg.MatchPrefix, Status: status}
	}
	a := &routecfg.VirtualHost{Host: "a.example", Routes: []*routecfg.Route{route("/", 200)}}
	b := &routecfg.VirtualHost{Host: "b.example", Routes: []*routecfg.Route{route("/", 201)}}
	w := &routecfg.VirtualHost{Host: "*.w.example", Routes: []*routecfg.Route{route("/", 202)}}
	all := &routecfg.VirtualHost{Routes: []*routecfg.Route{route("/", 203)}}
	prev := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{a, b, w}, CatchAll: all})

	b2 := &routecfg.VirtualHost{Host: "b.example", Routes: []*routecfg.Route{route("/", 211)}}
	c := &routecfg.VirtualHost{Host: "c.example", Routes: []*routecfg.Route{route("/", 212)}}
	all2 := &routecfg.VirtualHost{Routes: []*routecfg.Route{route("/", 213)}}
	next := CompileFrom(prev, &routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{a, b2, c}, CatchAll: all2})

	if next.exact["a.example"] != prev.exact["a.example"] {
		t.Error("unchanged host a.example was recompiled")
	}
	for host, want := range map[string]int{"a.example": 200, "b.example": 211, "c.example": 212, "x.w.example": 213, "other": 213} {
		_, rt := next.Lookup(host, "/")
		if rt == nil || rt.Status != want {
			t.Errorf("%s: got %v, want status %d", host, rt, want)
		}
	}
	if again := CompileFrom(next, &routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{a, b2, c}, CatchAll: all2}); again.catchAll != next.catchAll {
		t.Error("unchanged catch-all was recompiled")
	}
}
