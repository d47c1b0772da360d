// Package limiter keeps per-client counters for ingress-nginx's limit-rps,
// limit-rpm and limit-connections. Counters are keyed by client address,
// sharded to keep lock hold times short, and bounded in memory; they live
// outside routecfg.Config so a config swap keeps them.
package limiter

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
)

const shards = 16

// DefaultMaxClients bounds the addresses a Requests zone remembers
// (nginx's default 5 MB zone holds a few tens of thousands).
const DefaultMaxClients = 1 << 16

var seed = maphash.MakeSeed()

func shardOf(a netip.Addr) int {
	b := a.As16()
	return int(maphash.Bytes(seed, b[:]) % shards)
}

// Requests is nginx's limit_req with burst and nodelay: a leaky bucket per
// client address counted in thousandths of a request, so a client may
// send burst+1 requests at once and then one per 1/rate seconds.
type Requests struct {
	shards   [shards]reqShard
	max      int // per shard
	lastUsed atomic.Int64
}

type reqShard struct {
	mu sync.Mutex
	m  map[netip.Addr]bucket
}

type bucket struct {
	excess int64 // thousandths of a request
	last   int64 // milliseconds
}

// NewRequests returns an empty zone remembering at most maxClients
// addresses (0: DefaultMaxClients).
func NewRequests(maxClients int) *Requests {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	z := &Requests{max: max(maxClients/shards, 1)}
	for i := range z.shards {
		z.shards[i].m = make(map[netip.Addr]bucket)
	}
	return z
}

// Allow reports whether a request from a may pass at nowMs (milliseconds)
// given rate in requests per perMs milliseconds (1000 for limit-rps,
// 60000 for limit-rpm) and burst extra requests; a passing request is
// counted. It is ngx_http_limit_req_lookup's arithmetic.
func (z *Requests) Allow(a netip.Addr, nowMs int64, rate int, perMs int64, burst int) bool {
	z.touch(nowMs)
	s := &z.shards[shardOf(a)]
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[a]
	if !ok {
		if len(s.m) >= z.max {
			s.evict(nowMs, rate, perMs, z.max)
		}
		s.m[a] = bucket{excess: 0, last: nowMs}
		return true
	}
	ms := nowMs - b.last
	if ms < 0 {
		ms = 0
	}
	excess := b.excess - int64(rate)*1000*ms/perMs + 1000
	if excess < 0 {
		excess = 0
	}
	if excess > int64(burst)*1000 {
		return false
	}
	s.m[a] = bucket{excess: excess, last: nowMs}
	return true
}

// Refund takes back one request counted by Allow (when a later limit of
// the same request refused it, as nginx accounts all zones or none).
func (z *Requests) Refund(a netip.Addr) {
	s := &z.shards[shardOf(a)]
	s.mu.Lock()
	if b, ok := s.m[a]; ok {
		b.excess = max(b.excess-1000, 0)
		s.m[a] = b
	}
	s.mu.Unlock()
}

// evict makes room: first the buckets that have fully drained (they are
// equivalent to absent ones), then, if that frees too little, arbitrary
// ones (map order), so a flood of new addresses costs O(1) amortised.
func (s *reqShard) evict(nowMs int64, rate int, perMs int64, limit int) {
	want := max(limit/8, 1)
	freed := 0
	for a, b := range s.m {
		if b.excess-int64(rate)*1000*(nowMs-b.last)/perMs <= 0 {
			delete(s.m, a)
			freed++
		}
	}
	for a := range s.m {
		if freed >= want {
			break
		}
		delete(s.m, a)
		freed++
	}
}

// Len is the number of remembered addresses.
func (z *Requests) Len() int {
	n := 0
	for i := range z.shards {
		s := &z.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// touch records use at most once a second, so the zone registry can drop
// zones no config uses any more without a write per request.
func (z *Requests) touch(nowMs int64) {
	if nowMs-z.lastUsed.Load() > 1000 {
		z.lastUsed.Store(nowMs)
	}
}

// LastUsed is the millisecond time of the last Allow (to a second).
func (z *Requests) LastUsed() int64 { return z.lastUsed.Load() }

// Conns is nginx's limit_conn: concurrent requests per client address.
// Entries exist only while a client has requests in flight, so memory is
// bounded by the requests in flight.
type Conns struct {
	shards   [shards]connShard
	lastUsed atomic.Int64
}

type connShard struct {
	mu sync.Mutex
	m  map[netip.Addr]int
}

// NewConns returns an empty zone.
func NewConns() *Conns {
	z := &Conns{}
	for i := range z.shards {
		z.shards[i].m = make(map[netip.Addr]int)
	}
	return z
}

// Acquire counts a request from a if fewer than limit are in flight;
// pair a true result with Release.
func (z *Conns) Acquire(a netip.Addr, limit int, nowMs int64) bool {
	if nowMs-z.lastUsed.Load() > 1000 {
		z.lastUsed.Store(nowMs)
	}
	s := &z.shards[shardOf(a)]
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.m[a]
	if n >= limit {
		return false
	}
	s.m[a] = n + 1
	return true
}

// Release ends a request counted by Acquire.
func (z *Conns) Release(a netip.Addr) {
	s := &z.shards[shardOf(a)]
	s.mu.Lock()
	if n := s.m[a]; n <= 1 {
		delete(s.m, a)
	} else {
		s.m[a] = n - 1
	}
	s.mu.Unlock()
}

// InFlight is the number of requests a has in flight.
func (z *Conns) InFlight(a netip.Addr) int {
	s := &z.shards[shardOf(a)]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[a]
}

// LastUsed is the millisecond time of the last Acquire (to a second).
func (z *Conns) LastUsed() int64 { return z.lastUsed.Load() }

// Registry finds zones by name across config swaps. Zones unused for
// idle milliseconds are dropped when a new zone is created, so Ingresses
// that come and go do not leak counters.
type Registry struct {
	idle  int64
	mu    sync.Mutex // serialises creation and pruning; lookups use the sync.Map
	reqs  sync.Map   // string → *Requests
	conns sync.Map   // string → *Conns
}

// NewRegistry returns an empty registry dropping zones idle for idleMs.
func NewRegistry(idleMs int64) *Registry { return &Registry{idle: idleMs} }

// Requests returns the zone named name, creating it.
func (r *Registry) Requests(name string, nowMs int64) *Requests {
	if z, ok := r.reqs.Load(name); ok {
		return z.(*Requests)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if z, ok := r.reqs.Load(name); ok {
		return z.(*Requests)
	}
	r.prune(nowMs)
	z := NewRequests(0)
	z.lastUsed.Store(nowMs)
	r.reqs.Store(name, z)
	return z
}

// Conns returns the zone named name, creating it.
func (r *Registry) Conns(name string, nowMs int64) *Conns {
	if z, ok := r.conns.Load(name); ok {
		return z.(*Conns)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if z, ok := r.conns.Load(name); ok {
		return z.(*Conns)
	}
	r.prune(nowMs)
	z := NewConns()
	z.lastUsed.Store(nowMs)
	r.conns.Store(name, z)
	return z
}

func (r *Registry) prune(nowMs int64) {
	r.reqs.Range(func(k, v any) bool {
		if nowMs-v.(*Requests).LastUsed() > r.idle {
			r.reqs.Delete(k)
		}
		return true
	})
	r.conns.Range(func(k, v any) bool {
		if nowMs-v.(*Conns).LastUsed() > r.idle {
			// A request still holding a count releases into the old
			// object; nothing is lost but the entry.
			r.conns.Delete(k)
		}
		return true
	})
}

// Zones is the number of zones held (for tests and metrics).
func (r *Registry) Zones() int {
	n := 0
	r.reqs.Range(func(any, any) bool { n++; return true })
	r.conns.Range(func(any, any) bool { n++; return true })
	return n
}
