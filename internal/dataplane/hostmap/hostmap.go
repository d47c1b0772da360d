// Package hostmap is the data plane's host-name index (the router's
// virtual hosts, the SNI certificate table): exact names and "*.suffix"
// wildcards covering one label, read without allocating, and updated
// copy-on-write so that a change to one host of 10,000 does not rebuild
// a 10,000-entry map.
//
// A Map is a base map shared between versions plus a small overlay of the
// hosts changed since the base was built; once the overlay outgrows
// overlayLimit the next version folds it into a new base.
package hostmap

import (
	"maps"
	"slices"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Map maps host names to values. Build it with Add, then only read it or
// derive new versions with With; a Map is then safe for concurrent use.
type Map[V any] struct {
	exact, wild layer[V] // wildcards keyed by the suffix after "*."
	n           int
}

type layer[V any] struct {
	base map[string]V
	over map[string]slot[V] // changed since base; !ok: deleted
}

type slot[V any] struct {
	v  V
	ok bool
}

// New returns an empty Map with room for n hosts.
func New[V any](n int) *Map[V] {
	return &Map[V]{exact: layer[V]{base: make(map[string]V, n)}, wild: layer[V]{base: map[string]V{}}}
}

// Key normalises a host pattern as lookups do (lower case, no trailing
// dot) and splits off a wildcard's "*.". ok is false for names no lookup
// can find: the catch-all "" and a bare "*.".
func Key(host string) (key string, wild, ok bool) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if rest, found := strings.CutPrefix(h, "*."); found {
		return rest, true, rest != ""
	}
	return h, false, h != ""
}

// Add maps host to v unless host is already mapped (the first wins, as
// both tables always did). Only for a Map not yet shared.
func (m *Map[V]) Add(host string, v V) {
	key, wild, ok := Key(host)
	if !ok {
		return
	}
	l := m.layer(wild)
	if _, dup := l.base[key]; !dup {
		l.base[key] = v
		m.n++
	}
}

func (m *Map[V]) layer(wild bool) *layer[V] {
	if wild {
		return &m.wild
	}
	return &m.exact
}

// Len is the number of hosts.
func (m *Map[V]) Len() int { return m.n }

// Get returns the value of a host pattern ("foo.com", "*.foo.com").
func (m *Map[V]) Get(host string) (V, bool) {
	key, wild, ok := Key(host)
	if !ok {
		var zero V
		return zero, false
	}
	if len(m.layer(wild).over) > 0 {
		if s, in := m.layer(wild).over[key]; in {
			return s.v, s.ok
		}
	}
	v, ok := m.layer(wild).base[key]
	return v, ok
}

// Lookup finds a normalised name (lower case, no port, no trailing dot):
// the exact entry, else the wildcard covering it. "*.foo.com" covers
// exactly one non-empty label: "bar.foo.com", neither "foo.com" nor
// "a.bar.foo.com". It does not allocate.
func (m *Map[V]) Lookup(b []byte) (V, bool) {
	if len(b) == 0 {
		var zero V
		return zero, false
	}
	if v, ok := m.exact.find(b); ok {
		return v, true
	}
	for i, c := range b {
		if c == '.' {
			if i > 0 && i+1 < len(b) {
				return m.wild.find(b[i+1:])
			}
			break
		}
	}
	var zero V
	return zero, false
}

// LookupAnyDepth is Lookup with Gateway API wildcards: "*.foo.com" also
// covers "a.bar.foo.com", and the longest covering suffix wins. It does
// not allocate.
func (m *Map[V]) LookupAnyDepth(b []byte) (V, bool) {
	if v, ok := m.exact.find(b); ok {
		return v, true
	}
	for i, c := range b {
		if c == '.' && i > 0 && i+1 < len(b) && b[i-1] != '.' {
			if v, ok := m.wild.find(b[i+1:]); ok {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

// find looks b up; indexing a map with string(b) does not allocate.
func (l *layer[V]) find(b []byte) (V, bool) {
	if len(l.over) > 0 {
		if s, in := l.over[string(b)]; in {
			return s.v, s.ok
		}
	}
	v, ok := l.base[string(b)]
	return v, ok
}

// Change sets (or, with Delete, removes) one host's value.
type Change[V any] struct {
	Host   string
	Value  V
	Delete bool
}

// With returns m with changes applied, in order; m is unchanged. It
// copies only the overlay, unless the overlay is due to be folded into a
// new base.
func (m *Map[V]) With(changes []Change[V]) *Map[V] {
	next := &Map[V]{n: m.n}
	fold := len(m.exact.over)+len(m.wild.over)+len(changes) > overlayLimit(m.n)
	for _, w := range []bool{false, true} {
		from, to := m.layer(w), next.layer(w)
		if fold {
			to.base = maps.Clone(from.base)
			if to.base == nil {
				to.base = map[string]V{}
			}
			for k, s := range from.over {
				if s.ok {
					to.base[k] = s.v
				} else {
					delete(to.base, k)
				}
			}
		} else {
			to.base, to.over = from.base, maps.Clone(from.over)
		}
	}
	for _, c := range changes {
		key, wild, ok := Key(c.Host)
		if !ok {
			continue
		}
		_, had := next.Get(c.Host)
		l := next.layer(wild)
		switch {
		case fold && c.Delete:
			delete(l.base, key)
		case fold:
			l.base[key] = c.Value
		default:
			if l.over == nil {
				l.over = map[string]slot[V]{}
			}
			l.over[key] = slot[V]{v: c.Value, ok: !c.Delete}
		}
		if had && c.Delete {
			next.n--
		} else if !had && !c.Delete {
			next.n++
		}
	}
	return next
}

// overlayLimit is the overlay size past which With folds: copying the
// overlay costs O(limit) per change, a fold O(n) once per ~limit/2
// changes (each change of a host's name is a delete and an add).
func overlayLimit(n int) int { return max(64, n/64) }

// Delta is one host whose VirtualHost differs between two configs: Old
// nil for an added host, New nil for a removed one.
type Delta struct {
	Old, New *routecfg.VirtualHost
}

// Diff lists the hosts whose VirtualHost differs between prev and next,
// which must each be sorted strictly by Key (translate emits hosts
// sorted, each once; an incremental translate shares unchanged ones with
// the last config). prev is trusted to be, having passed Diff or Sorted
// before; next is checked, walking only pointers where it shares prev's
// hosts. ok is false when next is not sorted or holds a nil or unnamed
// host, or when more than an eighth of the hosts differ (a rebuild is
// then cheaper): the caller then rebuilds.
func Diff(prev, next []*routecfg.VirtualHost) (d []Delta, ok bool) {
	i, limit := 0, max(64, len(next)/8)
	for j, vh := range next {
		if vh == nil || len(d) > limit {
			return nil, false
		}
		if i < len(prev) && prev[i] == vh {
			i++
			continue
		}
		k, named := sortKey(vh)
		if !named || j > 0 && !less(next[j-1], k) {
			return nil, false
		}
		for i < len(prev) {
			pk, _ := sortKey(prev[i])
			if pk >= k {
				break
			}
			d = append(d, Delta{Old: prev[i]})
			i++
		}
		switch {
		case i < len(prev) && prev[i] == vh:
			i++
		case i < len(prev) && sameKey(prev[i], k):
			d = append(d, Delta{Old: prev[i], New: vh})
			i++
		default:
			d = append(d, Delta{New: vh})
		}
	}
	for ; i < len(prev); i++ {
		d = append(d, Delta{Old: prev[i]})
	}
	return d, true
}

// Sorted reports whether vhs is sorted strictly by Key, with no nil or
// unnamed host: whether Diff can later take it as prev.
func Sorted(vhs []*routecfg.VirtualHost) bool {
	for j, vh := range vhs {
		if vh == nil {
			return false
		}
		k, named := sortKey(vh)
		if !named || j > 0 && !less(vhs[j-1], k) {
			return false
		}
	}
	return true
}

// Sort orders vhs as Diff and Sorted expect (by the normalised host).
func Sort(vhs []*routecfg.VirtualHost) {
	slices.SortFunc(vhs, func(a, b *routecfg.VirtualHost) int {
		ak, _ := sortKey(a)
		bk, _ := sortKey(b)
		return strings.Compare(ak, bk)
	})
}

// sortKey is the order Diff relies on: the normalised host, "*."
// included, as translate sorts them. ok is Key's.
func sortKey(vh *routecfg.VirtualHost) (string, bool) {
	h := strings.TrimSuffix(strings.ToLower(vh.Host), ".")
	return h, h != "" && h != "*."
}

func less(a *routecfg.VirtualHost, k string) bool {
	ak, _ := sortKey(a)
	return ak < k
}

func sameKey(a *routecfg.VirtualHost, k string) bool {
	ak, _ := sortKey(a)
	return ak == k
}
