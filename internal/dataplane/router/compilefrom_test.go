package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/hostmap"
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

	if va, _ := next.hosts.Get("a.example"); va != first(prev.hosts.Get("a.example")) {
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

func first[V any](v V, _ bool) V { return v }

// TestCompileFromMatchesCompile drives CompileFrom through random host
// lists (adds, removals, replacements, renames, wildcards, odd spellings,
// now and then unsorted or duplicated, which rebuild) and requires every
// table to answer every name as Compile of the same config does.
func TestCompileFromMatchesCompile(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 1))
		var names []string
		for i := range 30 {
			names = append(names, fmt.Sprintf("h%d.example", i), fmt.Sprintf("*.w%d.example", i))
		}
		names = append(names, "x.w1.example", "W2.Example.", "w3.example")
		cur := map[string]*routecfg.VirtualHost{}
		var table *Table
		for step := range 300 {
			for range 1 + r.IntN(6) {
				n := names[r.IntN(len(names))]
				if cur[n] != nil && r.IntN(3) == 0 {
					delete(cur, n)
				} else {
					cur[n] = &routecfg.VirtualHost{Host: n, Routes: []*routecfg.Route{{Path: "/", Match: routecfg.MatchPrefix, Status: 200 + step}}}
				}
			}
			var vhs []*routecfg.VirtualHost
			for _, vh := range cur {
				vhs = append(vhs, vh)
			}
			hostmap.Sort(vhs)
			switch r.IntN(20) {
			case 0:
				r.Shuffle(len(vhs), func(i, j int) { vhs[i], vhs[j] = vhs[j], vhs[i] })
			case 1:
				if len(vhs) > 0 {
					vhs = append(vhs, vhs[0])
				}
			}
			cfg := &routecfg.Config{VirtualHosts: vhs}
			table = CompileFrom(table, cfg)
			want := Compile(cfg)
			if table.Hosts() != want.Hosts() {
				t.Fatalf("seed %d step %d: %d hosts, want %d", seed, step, table.Hosts(), want.Hosts())
			}
			for _, n := range append(slices.Clone(names), "a.h1.example", "y.w2.example", "a.b.w3.example", "w4.example", "") {
				n = strings.TrimPrefix(n, "*.")
				for _, q := range []string{n, "sub." + n, strings.ToUpper(n) + "."} {
					gv, gr := table.Lookup(q, "/")
					wv, wr := want.Lookup(q, "/")
					if gv != wv || gr != wr {
						t.Fatalf("seed %d step %d: %q: got %v, want %v", seed, step, q, gv, wv)
					}
				}
			}
			for _, vh := range vhs {
				if table.Compiled(vh) != want.Compiled(vh) {
					t.Fatalf("seed %d step %d: Compiled(%q) differs", seed, step, vh.Host)
				}
			}
		}
	}
}
