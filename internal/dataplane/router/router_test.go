package router

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func exact(p string) *routecfg.Route  { return &routecfg.Route{Path: p, Match: routecfg.MatchExact} }
func prefix(p string) *routecfg.Route { return &routecfg.Route{Path: p, Match: routecfg.MatchPrefix} }
func regex(p string) *routecfg.Route {
	return &routecfg.Route{Path: p, Match: routecfg.MatchRegex, Regex: regexp.MustCompile("(?i)^" + p)}
}

// ordered sorts routes as translate does for literal paths: longest first,
// Exact before Prefix at equal length.
func ordered(rs ...*routecfg.Route) []*routecfg.Route {
	sort.SliceStable(rs, func(i, j int) bool {
		if len(rs[i].Path) != len(rs[j].Path) {
			return len(rs[i].Path) > len(rs[j].Path)
		}
		return rs[i].Match == routecfg.MatchExact && rs[j].Match != routecfg.MatchExact
	})
	return rs
}

func describe(rt *routecfg.Route) string {
	if rt == nil {
		return "<none>"
	}
	return rt.Match.String() + " " + rt.Path
}

// TestAPIPathExamples reproduces every row of the Ingress API's path
// examples table (kubernetes.io/docs/concepts/services-networking/ingress,
// "Examples"), plus ingress-nginx's pathtype_prefix.go e2e cases.
func TestAPIPathExamples(t *testing.T) {
	tests := []struct {
		name   string
		routes []*routecfg.Route
		path   string
		want   string // describe() of the matching route
	}{
		{"Prefix / matches all", ordered(prefix("/")), "/anything/at/all", "Prefix /"},
		{"Prefix / matches root", ordered(prefix("/")), "/", "Prefix /"},
		{"Exact /foo matches /foo", ordered(exact("/foo")), "/foo", "Exact /foo"},
		{"Exact /foo not /bar", ordered(exact("/foo")), "/bar", "<none>"},
		{"Exact /foo not /foo/", ordered(exact("/foo")), "/foo/", "<none>"},
		{"Exact /foo/ not /foo", ordered(exact("/foo/")), "/foo", "<none>"},
		{"Prefix /foo matches /foo", ordered(prefix("/foo")), "/foo", "Prefix /foo"},
		{"Prefix /foo matches /foo/", ordered(prefix("/foo")), "/foo/", "Prefix /foo"},
		// translate strips the trailing slash; the router must be robust
		// to it anyway.
		{"Prefix /foo/ matches /foo", ordered(prefix("/foo/")), "/foo", "Prefix /foo/"},
		{"Prefix /foo/ matches /foo/", ordered(prefix("/foo/")), "/foo/", "Prefix /foo/"},
		{"Prefix /aaa/bb not /aaa/bbb", ordered(prefix("/aaa/bb")), "/aaa/bbb", "<none>"},
		{"Prefix /aaa/bbb matches /aaa/bbb", ordered(prefix("/aaa/bbb")), "/aaa/bbb", "Prefix /aaa/bbb"},
		{"Prefix /aaa/bbb/ matches /aaa/bbb", ordered(prefix("/aaa/bbb/")), "/aaa/bbb", "Prefix /aaa/bbb/"},
		{"Prefix /aaa/bbb matches /aaa/bbb/", ordered(prefix("/aaa/bbb")), "/aaa/bbb/", "Prefix /aaa/bbb"},
		{"Prefix /aaa/bbb matches /aaa/bbb/ccc", ordered(prefix("/aaa/bbb")), "/aaa/bbb/ccc", "Prefix /aaa/bbb"},
		{"Prefix /aaa/bbb not /aaa/bbbxyz", ordered(prefix("/aaa/bbb")), "/aaa/bbbxyz", "<none>"},
		{"longest of /, /aaa for /aaa/ccc", ordered(prefix("/"), prefix("/aaa")), "/aaa/ccc", "Prefix /aaa"},
		{"longest of /, /aaa, /aaa/bbb", ordered(prefix("/"), prefix("/aaa"), prefix("/aaa/bbb")), "/aaa/bbb", "Prefix /aaa/bbb"},
		{"/, /aaa, /aaa/bbb with /ccc uses /", ordered(prefix("/"), prefix("/aaa"), prefix("/aaa/bbb")), "/ccc", "Prefix /"},
		{"Prefix /aaa alone with /ccc: default backend", ordered(prefix("/aaa")), "/ccc", "<none>"},
		{"Prefix and Exact /foo prefers Exact", ordered(prefix("/foo"), exact("/foo")), "/foo", "Exact /foo"},
		{"Prefix and Exact /foo: /foo/x uses Prefix", ordered(prefix("/foo"), exact("/foo")), "/foo/x", "Prefix /foo"},
		{"Prefix is case sensitive", ordered(prefix("/foo")), "/FOO", "<none>"},
		{"Exact is case sensitive", ordered(exact("/foo")), "/Foo", "<none>"},
		// ingress-nginx test/e2e/ingress/pathtype_prefix.go.
		{"nginx /aaa matches /aaa", ordered(prefix("/aaa")), "/aaa", "Prefix /aaa"},
		{"nginx /aaa matches /aaa/", ordered(prefix("/aaa")), "/aaa/", "Prefix /aaa"},
		{"nginx /aaa matches /aaa/cccc", ordered(prefix("/aaa")), "/aaa/cccc", "Prefix /aaa"},
		{"nginx /aaa not /aaacccc", ordered(prefix("/aaa")), "/aaacccc", "<none>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, indexed := range []bool{false, true} {
				routes := tc.routes
				if indexed {
					routes = padForIndex(routes)
				}
				tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "foo.com", Routes: routes}}})
				vh, rt := tab.Lookup("foo.com", tc.path)
				if vh == nil {
					t.Fatalf("indexed=%v: no virtual host", indexed)
				}
				if got := describe(rt); got != tc.want {
					t.Errorf("indexed=%v: Lookup(%q) = %s, want %s", indexed, tc.path, got, tc.want)
				}
			}
		})
	}
}

// padForIndex appends Exact routes that never match so that the host is
// large enough to use the map index; they go last so they cannot win.
func padForIndex(routes []*routecfg.Route) []*routecfg.Route {
	out := append([]*routecfg.Route(nil), routes...)
	for i := 0; len(out) <= indexThreshold; i++ {
		out = append(out, exact(fmt.Sprintf("/zz-pad-%d", i)))
	}
	return out
}

func TestRegexRoutes(t *testing.T) {
	lazy := &routecfg.Route{Path: "/lazy/[0-9]+$", Match: routecfg.MatchRegex} // Regex nil
	bad := &routecfg.Route{Path: "/bad/(", Match: routecfg.MatchRegex}
	routes := []*routecfg.Route{
		// ingress-nginx's documented warning: the regex is first and steals
		// the longer literal-looking path.
		regex("/foo/bar/[A-Z0-9]{3}"),
		regex("/foo/bar/bar"),
		regex("/id/[0-9]+"),
		lazy,
		bad,
		regex("/something(/|$)(.*)"),
	}
	tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "re.com", Routes: routes}}})
	tests := []struct {
		path string
		want *routecfg.Route
	}{
		{"/foo/bar/bar", routes[0]},
		{"/foo/bar/ba", nil},
		{"/id/123", routes[2]},
		{"/id/123a", routes[2]}, // anchored at the start only
		{"/ID/123", routes[2]},  // case-insensitive
		{"/x/id/123", nil},
		{"/lazy/42", lazy},
		{"/lazy/42x", nil},
		{"/bad/(", nil}, // an invalid regex never matches
		{"/something", routes[5]},
		{"/something/", routes[5]},
		{"/somethingelse", nil}, // (/|$) is what stops the bare prefix
		{"/SOMETHING/new", routes[5]},
	}
	for _, tc := range tests {
		_, got := tab.Lookup("re.com", tc.path)
		if got != tc.want {
			t.Errorf("Lookup(%q) = %s, want %s", tc.path, describe(got), describe(tc.want))
		}
	}
	if lazy.Regex != nil {
		t.Error("Compile mutated the Config (Route.Regex)")
	}
}

func TestHosts(t *testing.T) {
	vh := func(host string) *routecfg.VirtualHost {
		return &routecfg.VirtualHost{Host: host, Routes: []*routecfg.Route{prefix("/")}}
	}
	foo, wild, barExact, deep := vh("foo.com"), vh("*.foo.com"), vh("bar.foo.com"), vh("*.bar.foo.com")
	catchAll := vh("")
	cfg := &routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{wild, deep, barExact, foo}, CatchAll: catchAll}
	tab := Compile(cfg)
	noCatchAll := Compile(&routecfg.Config{VirtualHosts: cfg.VirtualHosts})

	tests := []struct {
		host string
		want *routecfg.VirtualHost
	}{
		{"foo.com", foo},
		{"bar.foo.com", barExact}, // exact beats wildcard
		{"baz.foo.com", wild},
		{"a.bar.foo.com", deep}, // its own one-label wildcard
		{"a.b.bar.foo.com", catchAll},
		{"a.baz.foo.com", catchAll}, // *.foo.com covers one label only
		{".foo.com", catchAll},      // the first label must be non-empty
		{"other.com", catchAll},
		{"", catchAll},
		// Normalisation: case, port, IPv6 port, one trailing dot.
		{"FOO.COM", foo},
		{"Baz.Foo.Com", wild},
		{"foo.com:8080", foo},
		{"FOO.com.:443", foo},
		{"foo.com.", foo},
		{"foo.com..", catchAll}, // only one trailing dot is stripped
		{"baz.foo.com.", wild},
		{"[::1]:8080", catchAll},
	}
	for _, tc := range tests {
		got, rt := tab.Lookup(tc.host, "/x")
		if got != tc.want {
			t.Errorf("Lookup(%q) vhost = %q, want %q", tc.host, hostOf(got), hostOf(tc.want))
		}
		if got != nil && rt == nil {
			t.Errorf("Lookup(%q): no route", tc.host)
		}
		wantNoCA := tc.want
		if wantNoCA == catchAll {
			wantNoCA = nil
		}
		if got, _ := noCatchAll.Lookup(tc.host, "/x"); got != wantNoCA {
			t.Errorf("nil catch-all: Lookup(%q) vhost = %q, want %q", tc.host, hostOf(got), hostOf(wantNoCA))
		}
	}
}

func hostOf(vh *routecfg.VirtualHost) string {
	if vh == nil {
		return "<nil>"
	}
	if vh.Host == "" {
		return "<catch-all>"
	}
	return vh.Host
}

// A matched host is final: its unmatched paths 404 from the host (as
// ingress-nginx's per-server default location does) rather than falling
// through to the wildcard or the catch-all.
func TestMatchedHostDoesNotFallThrough(t *testing.T) {
	host := &routecfg.VirtualHost{Host: "a.foo.com", Routes: []*routecfg.Route{prefix("/api")}}
	wild := &routecfg.VirtualHost{Host: "*.foo.com", Routes: []*routecfg.Route{prefix("/")}}
	ca := &routecfg.VirtualHost{Routes: []*routecfg.Route{prefix("/")}}
	tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{wild, host}, CatchAll: ca})
	vh, rt := tab.Lookup("a.foo.com", "/web")
	if vh != host || rt != nil {
		t.Fatalf("got (%s, %s), want (a.foo.com, <none>)", hostOf(vh), describe(rt))
	}
}

func TestHostNormalisedAtCompile(t *testing.T) {
	vh := &routecfg.VirtualHost{Host: "Foo.COM.", Routes: []*routecfg.Route{prefix("/")}}
	wild := &routecfg.VirtualHost{Host: "*.Bar.com", Routes: []*routecfg.Route{prefix("/")}}
	tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{vh, wild}})
	if got, _ := tab.Lookup("foo.com", "/"); got != vh {
		t.Errorf("got %s, want Foo.COM.", hostOf(got))
	}
	if got, _ := tab.Lookup("x.bar.com", "/"); got != wild {
		t.Errorf("got %s, want *.Bar.com", hostOf(got))
	}
}

func TestNilAndEmpty(t *testing.T) {
	var nilTab *Table
	if vh, rt := nilTab.Lookup("foo.com", "/"); vh != nil || rt != nil {
		t.Error("nil Table matched")
	}
	if vh, rt := Compile(nil).Lookup("foo.com", "/"); vh != nil || rt != nil {
		t.Error("empty Table matched")
	}
	// Nil entries in a hand-built Config are skipped, not dereferenced.
	tab := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{nil, {Host: "a.com", Routes: []*routecfg.Route{nil, prefix("/")}}}})
	if _, rt := tab.Lookup("a.com", "/x"); rt == nil || rt.Path != "/" {
		t.Errorf("got %s, want Prefix /", describe(rt))
	}
	// A catch-all with no routes still answers the host (404 upstream).
	tab = Compile(&routecfg.Config{CatchAll: &routecfg.VirtualHost{}})
	if vh, rt := tab.Lookup("x.com", "/"); vh == nil || rt != nil {
		t.Errorf("got (%s, %s), want (catch-all, <none>)", hostOf(vh), describe(rt))
	}
}

func TestTrimHost(t *testing.T) {
	for in, want := range map[string]string{
		"foo.com":        "foo.com",
		"foo.com:80":     "foo.com",
		"foo.com.":       "foo.com",
		"foo.com.:80":    "foo.com",
		"[::1]:8080":     "::1",
		"[::1]":          "::1",
		"::1":            "::1",
		"2001:db8::1":    "2001:db8::1",
		"127.0.0.1:8080": "127.0.0.1",
		"[::1":           "[::1",
		"":               "",
		":80":            "",
	} {
		if got := trimHost(in); got != want {
			t.Errorf("trimHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIndexMatchesScan checks that the map index used for large hosts
// picks the same route as the linear first-match scan, for routes in any
// order (not only translate's), including duplicate paths.
func TestIndexMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "c", ""}
	randPath := func() string {
		n := r.IntN(4)
		p := ""
		for range n {
			p += "/" + segs[r.IntN(len(segs))]
		}
		if p == "" || r.IntN(5) == 0 {
			p += "/"
		}
		return p
	}
	for iter := range 300 {
		var routes []*routecfg.Route
		for range indexThreshold + 1 + r.IntN(20) {
			if r.IntN(2) == 0 {
				routes = append(routes, exact(randPath()))
			} else {
				routes = append(routes, prefix(randPath()))
			}
		}
		v := compileVHost(&routecfg.VirtualHost{Routes: routes})
		if v.idx == nil {
			t.Fatal("index not built")
		}
		for range 50 {
			p := randPath()
			var want *routecfg.Route
			for i := range v.routes {
				if v.routes[i].matches(p) {
					want = v.routes[i].rt
					break
				}
			}
			if got := v.match(p, nil); got != want {
				t.Fatalf("iter %d path %q: index %s, scan %s", iter, p, describe(got), describe(want))
			}
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := Compile(benchConfig(100, 10, false))
	wild := Compile(benchConfig(100, 10, true))
	big := Compile(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "big.com", Routes: padForIndex([]*routecfg.Route{prefix("/api")})}}})
	cases := []struct {
		tab        *Table
		host, path string
	}{
		{tab, "host-42.example.com", "/path-3/sub"},
		{tab, "HOST-42.Example.COM:8443", "/path-4"},
		{tab, "[::1]:80", "/"},
		{wild, "x.host-42.example.com", "/path-3/sub"},
		{wild, "X.HOST-42.EXAMPLE.COM.", "/path-3/sub"},
		{big, "big.com", "/api/v1/users"},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, func() { c.tab.Lookup(c.host, c.path) }); n != 0 {
			t.Errorf("Lookup(%q, %q): %v allocs, want 0", c.host, c.path, n)
		}
	}
}
