package router

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// FuzzLookup builds a table from fuzzed hosts and routes and looks up
// fuzzed requests: it must not panic, and it must agree with a linear
// reference (exact host, else the one-label wildcard, else the
// catch-all; then the first route in order whose matcher accepts the
// path), including after an incremental rebuild from another table.
//
// The input is a small program: spec is split on ';' into rules
// "host|kind|path" (kind e for Exact, p for Prefix, r for regex), and
// reqs on ';' into "host|path" lookups.
func FuzzLookup(f *testing.F) {
	f.Add("a.example|p|/;a.example|e|/foo;*.example|p|/api;|p|/", "a.example|/foo;b.example|/api/x;A.EXAMPLE.:8080|/foo/;c.other|/z")
	f.Add("x|p|/aaa/bb;x|p|/aaa;x|e|/aaa/bb", "x|/aaa/bbb;x|/aaa/bb;x|/aaa/bb/")
	f.Add("r.example|r|/api/(v[0-9]+)/.*;r.example|p|/", "r.example|/API/v1/x;r.example|/other;[::1]:80|/")
	// Found by fuzzing (both in this test's reference, not the router):
	// an empty label is not a wildcard's; "///" is the root prefix.
	f.Add("*.0|p|/", ".0|")
	f.Add("|p|///", "0")
	f.Add("*.a|p|/;b.a|p|/b", "c.a|/;x.c.a|/;b.a|/;b.a|/c")
	f.Add("h|p|/a/;h|p|/a/b/c;h|p|/a/b;h|p|/a/bc;h|e|/;h|p|/x;h|p|/y;h|p|/z;h|p|/w;h|p|/v", "h|/a;h|/a/b/c/d;h|/a/bcd;h|/")
	f.Fuzz(func(t *testing.T, spec, reqs string) {
		cfg := buildConfig(spec)
		if cfg == nil {
			return
		}
		tab := Compile(cfg)
		again := CompileFrom(Compile(buildConfig("z|p|/;"+spec)), cfg)
		for _, q := range strings.Split(reqs, ";") {
			host, path, _ := strings.Cut(q, "|")
			wantVH, wantRT := reference(cfg, host, path)
			for _, tb := range []*Table{tab, again} {
				vh, rt := tb.Lookup(host, path)
				if vh != wantVH || rt != wantRT {
					t.Fatalf("spec %q: Lookup(%q, %q) = %s %s, want %s %s", spec, host, path, hostOf(vh), describe(rt), hostOf(wantVH), describe(wantRT))
				}
			}
		}
	})
}

// buildConfig turns a spec into a configuration ordered as translate
// orders it, or nil for a spec translate would never produce.
func buildConfig(spec string) *routecfg.Config {
	byHost := map[string]*routecfg.VirtualHost{}
	cfg := &routecfg.Config{}
	for _, r := range strings.Split(spec, ";") {
		parts := strings.SplitN(r, "|", 3)
		if len(parts) != 3 {
			continue
		}
		host, kind, path := strings.ToLower(parts[0]), parts[1], parts[2]
		if !validFuzzHost(host) || !strings.HasPrefix(path, "/") {
			return nil
		}
		rt := &routecfg.Route{Path: path}
		switch kind {
		case "e":
			rt.Match = routecfg.MatchExact
		case "p":
			rt.Match = routecfg.MatchPrefix
			if len(path) > 1 { // as translate: "/foo//" is "/foo", "///" is "/"
				if rt.Path = strings.TrimRight(path, "/"); rt.Path == "" {
					rt.Path = "/"
				}
			}
		case "r":
			re, err := regexp.Compile("(?i)^" + path)
			if err != nil {
				return nil
			}
			rt.Match, rt.Regex = routecfg.MatchRegex, re
		default:
			continue
		}
		vh := byHost[host]
		if vh == nil {
			vh = &routecfg.VirtualHost{Host: host}
			byHost[host] = vh
			if host == "" {
				cfg.CatchAll = vh
			} else {
				cfg.VirtualHosts = append(cfg.VirtualHosts, vh)
			}
		}
		vh.Routes = append(vh.Routes, rt)
	}
	for _, vh := range byHost {
		regexHost := false
		for _, rt := range vh.Routes {
			regexHost = regexHost || rt.Match == routecfg.MatchRegex
		}
		sort.SliceStable(vh.Routes, func(i, j int) bool {
			a, b := vh.Routes[i], vh.Routes[j]
			if len(a.Path) != len(b.Path) {
				return len(a.Path) > len(b.Path)
			}
			return !regexHost && a.Match == routecfg.MatchExact && b.Match != routecfg.MatchExact
		})
	}
	sort.Slice(cfg.VirtualHosts, func(i, j int) bool { return cfg.VirtualHosts[i].Host < cfg.VirtualHosts[j].Host })
	return cfg
}

// validFuzzHost: "" (catch-all), or dot-separated non-empty labels of
// [a-z0-9-], the first of which may be "*".
func validFuzzHost(h string) bool {
	if h == "" {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for i, l := range strings.Split(h, ".") {
		if l == "" || (l == "*" && i == 0 && strings.Contains(h, ".")) {
			if l == "" {
				return false
			}
			continue
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func reference(cfg *routecfg.Config, rawHost, path string) (*routecfg.VirtualHost, *routecfg.Route) {
	h := rawHost
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if strings.Count(h, ":") == 1 {
		h = h[:strings.IndexByte(h, ':')]
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	find := func(name string) *routecfg.VirtualHost {
		for _, vh := range cfg.VirtualHosts {
			if vh.Host == name {
				return vh
			}
		}
		return nil
	}
	vh := find(h)
	if vh == nil && h != "" {
		// The wildcard stands for one non-empty label.
		if first, rest, ok := strings.Cut(h, "."); ok && first != "" && rest != "" {
			vh = find("*." + rest)
		}
	}
	if vh == nil {
		vh = cfg.CatchAll
	}
	if vh == nil {
		return nil, nil
	}
	for _, rt := range vh.Routes {
		switch rt.Match {
		case routecfg.MatchExact:
			if path == rt.Path {
				return vh, rt
			}
		case routecfg.MatchPrefix:
			if rt.Path == "/" || path == rt.Path || strings.HasPrefix(path, rt.Path+"/") {
				return vh, rt
			}
		case routecfg.MatchRegex:
			if rt.Regex.MatchString(path) {
				return vh, rt
			}
		}
	}
	return vh, nil
}
