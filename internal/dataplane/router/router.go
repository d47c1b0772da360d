// Package router compiles a routecfg.Config into an immutable host and path
// matcher for the proxy's hot path.
//
// Host lookup is exact first, then the single-label wildcard "*.rest", then
// the catch-all (Ingress API "Hosts" rules); on a Gateway's own socket a
// wildcard covers any number of labels (CompileGatewayFrom). Within a virtual host the routes
// keep translate's order and the first one that accepts the path wins.
package router

import (
	"net/http"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/moat-ingress/moat/internal/dataplane/hostmap"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// indexThreshold is the route count above which a literal-only virtual host
// gets map indexes instead of a linear scan. Below it the scan is as fast as
// hashing the path's prefixes; measured with BenchmarkLookup*.
const indexThreshold = 16

// maxHostLen bounds the stack buffer used to lower-case a Host header
// without allocating; a DNS name is at most 253 bytes.
const maxHostLen = 256

// Table is a compiled Config. It is immutable after Compile and safe for
// concurrent use; the proxy swaps whole Tables atomically.
type Table struct {
	hosts    *hostmap.Map[*vhost]
	catchAll *vhost
	// src is the host list hosts was built from, and diffable whether
	// hostmap.Diff can take it as the previous list (sorted by host).
	src      []*routecfg.VirtualHost
	diffable bool
	// anyDepth: a wildcard covers one or more labels (Gateway API
	// listeners), not exactly one (Ingress).
	anyDepth bool
}

type vhost struct {
	vh     *routecfg.VirtualHost
	routes []route
	// idx is set for large literal-only hosts; nil means scan routes.
	idx *pathIndex
}

type route struct {
	kind routecfg.MatchKind
	// path is Route.Path, for Prefix without trailing slashes ("/" stays).
	path string
	re   *regexp.Regexp // MatchRegex only; nil: the route never matches
	// lit is the regex's leading ASCII literal after "^", matched
	// case-insensitively when fold is set: a cheap pre-check, since
	// rewrite-target turns every path of a host into a regex and most are
	// plain "/api". litOnly: the regex is nothing more than ^lit.
	lit     string
	fold    bool
	litOnly bool
	rt      *routecfg.Route
}

// pathIndex finds the first matching literal route by hashing the request
// path and each of its element prefixes, instead of scanning every route.
// It keeps first-match order by comparing route positions, so it does not
// depend on translate's sort.
type pathIndex struct {
	exact  map[string]int // path → lowest route position
	prefix map[string]int // prefix without trailing slash → lowest position
	root   int            // position of the first Prefix "/", or -1
}

// Compile builds a Table from cfg. A nil cfg gives a Table that matches
// nothing. Hosts are normalised like request hosts, so a stray upper-case
// letter or trailing dot from a caller still matches.
//
// A MatchRegex route whose Regex is nil is compiled here from
// "(?i)^"+Path; if that fails the route never matches (translate reports
// invalid regexes, so this only guards against a bad Config).
func Compile(cfg *routecfg.Config) *Table { return CompileFrom(nil, cfg) }

// CompileFrom is Compile reusing prev's compiled hosts whose VirtualHost is
// the same pointer in cfg: configs are immutable, and an incremental
// translate shares every unchanged host with the last config, so a change
// to one host of 10,000 recompiles one. When both host lists are sorted
// (translate sorts them) only the hosts that differ are visited and the
// host index is updated copy-on-write (hostmap). prev may be nil.
func CompileFrom(prev *Table, cfg *routecfg.Config) *Table {
	if cfg == nil {
		return &Table{hosts: hostmap.New[*vhost](0)}
	}
	t := &Table{src: cfg.VirtualHosts}
	if prev != nil && prev.diffable {
		if d, ok := hostmap.Diff(prev.src, cfg.VirtualHosts); ok {
			changes := make([]hostmap.Change[*vhost], 0, len(d))
			for _, x := range d {
				if x.New == nil {
					changes = append(changes, hostmap.Change[*vhost]{Host: x.Old.Host, Delete: true})
				} else {
					changes = append(changes, hostmap.Change[*vhost]{Host: x.New.Host, Value: compileVHost(x.New)})
				}
			}
			t.hosts, t.diffable = prev.hosts.With(changes), true
		}
	}
	if t.hosts == nil {
		t.hosts = hostmap.New[*vhost](len(cfg.VirtualHosts))
		for _, vh := range cfg.VirtualHosts {
			if vh == nil {
				continue
			}
			v := (*vhost)(nil)
			if prev != nil {
				if pv, ok := prev.hosts.Get(vh.Host); ok && pv.vh == vh {
					v = pv
				}
			}
			if v == nil {
				v = compileVHost(vh)
			}
			// The first entry wins; translate emits each host once anyway.
			t.hosts.Add(vh.Host, v)
		}
		t.diffable = hostmap.Sorted(cfg.VirtualHosts)
	}
	if cfg.CatchAll != nil {
		if prev != nil && prev.catchAll != nil && prev.catchAll.vh == cfg.CatchAll {
			t.catchAll = prev.catchAll
		} else {
			t.catchAll = compileVHost(cfg.CatchAll)
		}
	}
	return t
}

// CompileGatewayFrom is CompileFrom for a Gateway's own socket, where
// Gateway API host matching applies: "*.foo.com" covers any number of
// labels before "foo.com", the longest covering wildcard first.
func CompileGatewayFrom(prev *Table, cfg *routecfg.Config) *Table {
	t := CompileFrom(prev, cfg)
	t.anyDepth = true
	return t
}

// Diff lists the hosts whose VirtualHost differs between the config t
// was compiled from and cfg (hostmap.Diff); ok is false when that cannot
// be told by a walk over shared hosts.
func (t *Table) Diff(cfg *routecfg.Config) ([]hostmap.Delta, bool) {
	if t == nil || !t.diffable || cfg == nil {
		return nil, false
	}
	return hostmap.Diff(t.src, cfg.VirtualHosts)
}

// Hosts returns the number of hosts t serves by name (exact and
// wildcard), without the catch-all.
func (t *Table) Hosts() int { return t.hosts.Len() }

// Compiled reports whether t serves vh itself (the same pointer) under its
// host name.
func (t *Table) Compiled(vh *routecfg.VirtualHost) bool {
	if t == nil || vh == nil {
		return false
	}
	v, ok := t.hosts.Get(vh.Host)
	return ok && v.vh == vh
}

func compileVHost(vh *routecfg.VirtualHost) *vhost {
	v := &vhost{vh: vh, routes: make([]route, 0, len(vh.Routes))}
	literal := true
	for _, rt := range vh.Routes {
		if rt == nil {
			continue
		}
		r := route{kind: rt.Match, path: rt.Path, rt: rt}
		if rt.Conditions != nil {
			// The index finds one candidate per path; conditions may
			// reject it and the next one must be tried.
			literal = false
		}
		switch rt.Match {
		case routecfg.MatchPrefix:
			r.path = strings.TrimRight(rt.Path, "/")
			if r.path == "" {
				r.path = "/"
			}
		case routecfg.MatchRegex:
			literal = false
			r.re = rt.Regex
			if r.re == nil {
				r.re, _ = regexp.Compile("(?i)^" + rt.Path)
			}
			if r.re != nil {
				r.lit, r.fold, r.litOnly = literalPrefix(r.re)
			}
		case routecfg.MatchExact:
		default:
			// An unknown kind never matches; keep the slot for ordering.
			literal = false
		}
		v.routes = append(v.routes, r)
	}
	if literal && len(v.routes) > indexThreshold {
		v.idx = buildIndex(v.routes)
	}
	return v
}

func buildIndex(routes []route) *pathIndex {
	x := &pathIndex{exact: map[string]int{}, prefix: map[string]int{}, root: -1}
	for i, r := range routes {
		switch {
		case r.kind == routecfg.MatchExact:
			if _, ok := x.exact[r.path]; !ok {
				x.exact[r.path] = i
			}
		case r.path == "/":
			if x.root < 0 {
				x.root = i
			}
		default:
			if _, ok := x.prefix[r.path]; !ok {
				x.prefix[r.path] = i
			}
		}
	}
	return x
}

// Lookup finds the virtual host for host and the first route of it that
// matches path.
//
// host is the raw Host header or SNI name: it is lower-cased, stripped of a
// port (including "[::1]:8080") and of one trailing dot. path is the decoded
// request path (r.URL.Path).
//
// vh is nil when neither a host nor the catch-all matches; rt is nil when
// the virtual host has no route for path. A matched host is final: its
// unmatched paths do not fall through to the wildcard or the catch-all,
// as ingress-nginx answers them from the host's own default location.
func (t *Table) Lookup(host, path string) (vh *routecfg.VirtualHost, rt *routecfg.Route) {
	return t.LookupRequest(host, path, nil)
}

// LookupRequest is Lookup for a request: routes with Conditions
// (routecfg.Conditions) match only when req satisfies them; with req nil
// they never match.
func (t *Table) LookupRequest(host, path string, req *http.Request) (vh *routecfg.VirtualHost, rt *routecfg.Route) {
	if t == nil {
		return nil, nil
	}
	v := t.host(host)
	if v == nil {
		return nil, nil
	}
	return v.vh, v.match(path, req)
}

func (t *Table) host(raw string) *vhost {
	h := trimHost(raw)
	if len(h) > maxHostLen {
		// Longer than any DNS name: allocate rather than grow the buffer.
		return t.hostLower([]byte(strings.ToLower(h)))
	}
	// Lower-case into a stack buffer: cheaper than checking first, and
	// never allocates.
	var buf [maxHostLen]byte
	b := buf[:len(h)]
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return t.hostLower(b)
}

// hostLower looks up a normalised host.
func (t *Table) hostLower(h []byte) *vhost {
	if t.anyDepth {
		if v, ok := t.hosts.LookupAnyDepth(h); ok {
			return v
		}
	} else if v, ok := t.hosts.Lookup(h); ok {
		return v
	}
	return t.catchAll
}

// trimHost strips a port and one trailing dot. A bare IPv6 literal (two or
// more colons, no brackets) has no port and is left as is.
func trimHost(h string) string {
	if len(h) > 0 && h[0] == '[' {
		if end := strings.IndexByte(h, ']'); end > 0 {
			return h[1:end]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i+1:], ':') < 0 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

func (v *vhost) match(path string, req *http.Request) *routecfg.Route {
	if v.idx != nil {
		if i := v.idx.first(path); i >= 0 {
			return v.routes[i].rt
		}
		return nil
	}
	for i := range v.routes {
		if v.routes[i].matches(path) && (v.routes[i].rt.Conditions == nil || conditionsHold(v.routes[i].rt.Conditions, req)) {
			return v.routes[i].rt
		}
	}
	return nil
}

func (r *route) matches(path string) bool {
	switch r.kind {
	case routecfg.MatchExact:
		return path == r.path
	case routecfg.MatchPrefix:
		return prefixMatch(r.path, path)
	case routecfg.MatchRegex:
		if r.re == nil {
			return false
		}
		switch r.preMatch(path) {
		case preNo:
			return false
		case preYes:
			if r.litOnly {
				return true
			}
		}
		return r.re.MatchString(path)
	}
	return false
}

const (
	preYes = iota
	preNo
	preUnknown
)

// preMatch compares path with the regex's literal prefix. A non-ASCII
// byte in path gives preUnknown: under (?i) Go folds 'k' with U+212A and
// 's' with U+017F, so only the regex itself can decide.
func (r *route) preMatch(path string) int {
	if len(path) < len(r.lit) {
		// Every rune that matches an ASCII literal is at least one byte.
		return preNo
	}
	for i := 0; i < len(r.lit); i++ {
		c, l := path[i], r.lit[i]
		if c >= utf8.RuneSelf {
			return preUnknown
		}
		if c != l && (!r.fold || lowerASCII(c) != lowerASCII(l)) {
			return preNo
		}
	}
	return preYes
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// literalPrefix extracts the leading ASCII literal of a start-anchored
// regex: "(?i)^/api/(.*)" gives "/API/", fold. It returns "" when the
// regex is not a concatenation starting with ^ (an alternation such as
// "^/a|/b" is unanchored on its right side).
func literalPrefix(re *regexp.Regexp) (lit string, fold, litOnly bool) {
	// regexp.Compile parses with syntax.Perl; parse the same way.
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil || tree.Op != syntax.OpConcat || len(tree.Sub) < 2 ||
		tree.Sub[0].Op != syntax.OpBeginText || tree.Sub[1].Op != syntax.OpLiteral {
		return "", false, false
	}
	l := tree.Sub[1]
	var b strings.Builder
	for _, c := range l.Rune {
		if c >= utf8.RuneSelf {
			return b.String(), l.Flags&syntax.FoldCase != 0, false
		}
		b.WriteByte(byte(c))
	}
	return b.String(), l.Flags&syntax.FoldCase != 0, len(tree.Sub) == 2
}

// prefixMatch is the Ingress API's element-wise Prefix: p (no trailing
// slash) matches path when path is p or continues with "/" after it, so
// "/aaa/bb" does not match "/aaa/bbb".
func prefixMatch(p, path string) bool {
	if p == "/" {
		return true
	}
	return strings.HasPrefix(path, p) && (len(path) == len(p) || path[len(p)] == '/')
}

// first returns the lowest position of a route matching path, or -1. The
// candidates are the Exact entry for path, the Prefix entries for path and
// for each prefix ending before a '/', and the root Prefix.
func (x *pathIndex) first(path string) int {
	best := x.root
	better := func(i int) {
		if best < 0 || i < best {
			best = i
		}
	}
	if i, ok := x.exact[path]; ok {
		better(i)
	}
	if i, ok := x.prefix[path]; ok {
		better(i)
	}
	for j := 1; j < len(path); j++ {
		if path[j] == '/' {
			if i, ok := x.prefix[path[:j]]; ok {
				better(i)
			}
		}
	}
	return best
}
