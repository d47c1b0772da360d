// Package upstream keeps the data plane's upstream pools: which endpoints
// each pool has and the state of each endpoint (in-flight requests, passive
// health). This state lives outside routecfg.Config so it survives config
// swaps: an endpoint that stays in a pool keeps its counters, and a pool
// keeps its round-robin position.
package upstream

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// DefaultFailTimeout is how long an endpoint that failed to connect is
// skipped while others are available. nginx's max_fails=1 fail_timeout=10s
// is the same idea; ingress-nginx's Lua balancer uses no passive health, so
// a short window is the conservative choice.
const DefaultFailTimeout = 5 * time.Second

// Endpoint is one backend address and its live state. Its address never
// changes; the same *Endpoint is kept across applies while the address
// stays in its pool.
type Endpoint struct {
	// Address is "host:port" as dialled.
	Address string

	inFlight atomic.Int64
	failures atomic.Int64
	lastFail atomic.Int64 // unix nanoseconds of the last connect failure; 0 none

	bal balanceState // balance.go
}

// InFlight is the number of requests currently using the endpoint.
func (e *Endpoint) InFlight() int64 { return e.inFlight.Load() }

// Failures is the number of consecutive connect failures.
func (e *Endpoint) Failures() int64 { return e.failures.Load() }

// Acquire counts a request starting on the endpoint; pair with Release.
func (e *Endpoint) Acquire() { e.inFlight.Add(1) }

// Release counts a request finishing on the endpoint.
func (e *Endpoint) Release() { e.inFlight.Add(-1) }

// Manager holds every pool. Pick is lock-free: the pool map and each
// pool's endpoint list are immutable values behind atomic pointers, and
// Apply replaces them copy-on-write.
type Manager struct {
	now         func() time.Time
	failTimeout int64 // nanoseconds

	applyMu sync.Mutex // serialises Apply; never taken by Pick
	pools   atomic.Pointer[map[string]*pool]
}

type pool struct {
	next      atomic.Uint64
	endpoints atomic.Pointer[[]*Endpoint]
}

// Options configures a Manager.
type Options struct {
	// Now is the clock for passive health; nil means time.Now.
	Now func() time.Time
	// FailTimeout is how long a failed endpoint is avoided; 0 means
	// DefaultFailTimeout.
	FailTimeout time.Duration
}

// NewManager returns an empty Manager.
func NewManager(opts Options) *Manager {
	m := &Manager{now: opts.Now, failTimeout: int64(opts.FailTimeout)}
	if m.now == nil {
		m.now = time.Now
	}
	if m.failTimeout <= 0 {
		m.failTimeout = int64(DefaultFailTimeout)
	}
	empty := map[string]*pool{}
	m.pools.Store(&empty)
	return m
}

// Apply makes pools the current set. A pool or endpoint that remains keeps
// its state; removed ones are dropped (requests holding a dropped
// *Endpoint finish normally).
func (m *Manager) Apply(pools map[string]*routecfg.Pool) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	old := *m.pools.Load()
	next := make(map[string]*pool, len(pools))
	for key, rp := range pools {
		p := old[key]
		if p == nil {
			p = &pool{}
			empty := []*Endpoint(nil)
			p.endpoints.Store(&empty)
		}
		var eps []*Endpoint
		if rp != nil {
			eps = mergeEndpoints(*p.endpoints.Load(), rp.Endpoints)
		}
		p.endpoints.Store(&eps)
		next[key] = p
	}
	m.pools.Store(&next)
}

// mergeEndpoints builds the new list in cfg order, reusing the *Endpoint of
// every address that was already there.
func mergeEndpoints(old []*Endpoint, cfg []routecfg.Endpoint) []*Endpoint {
	if sameAddresses(old, cfg) {
		// The common case on an apply: no maps for 10,000 unchanged pools.
		return old
	}
	byAddr := make(map[string]*Endpoint, len(old))
	for _, e := range old {
		byAddr[e.Address] = e
	}
	out := make([]*Endpoint, 0, len(cfg))
	seen := make(map[string]bool, len(cfg))
	for _, ce := range cfg {
		if ce.Address == "" || seen[ce.Address] {
			continue
		}
		seen[ce.Address] = true
		e := byAddr[ce.Address]
		if e == nil {
			e = &Endpoint{Address: ce.Address}
		}
		out = append(out, e)
	}
	return out
}

// sameAddresses reports whether cfg lists exactly old's addresses, in order
// (old holds no empty or repeated address, so neither does cfg then).
func sameAddresses(old []*Endpoint, cfg []routecfg.Endpoint) bool {
	if len(old) != len(cfg) {
		return false
	}
	for i, e := range old {
		if e.Address != cfg[i].Address {
			return false
		}
	}
	return true
}

// Pick returns the next endpoint of the pool by round robin, skipping
// endpoints that failed to connect within the fail timeout unless all of
// them did. It returns nil when the pool is unknown or empty.
func (m *Manager) Pick(key string) *Endpoint {
	p := (*m.pools.Load())[key]
	if p == nil {
		return nil
	}
	eps := *p.endpoints.Load()
	n := uint64(len(eps))
	if n == 0 {
		return nil
	}
	start := p.next.Add(1) - 1
	if n == 1 {
		return eps[0]
	}
	var now int64 // read the clock only if some endpoint has failed
	for i := uint64(0); i < n; i++ {
		e := eps[(start+i)%n]
		lf := e.lastFail.Load()
		if lf == 0 {
			return e
		}
		if now == 0 {
			now = m.now().UnixNano()
		}
		if now-lf >= m.failTimeout {
			return e
		}
	}
	return eps[start%n]
}

// MarkFailed records a failed connection attempt to e.
func (m *Manager) MarkFailed(e *Endpoint) {
	e.failures.Add(1)
	e.lastFail.Store(m.now().UnixNano())
}

// MarkSucceeded clears e's failure state after a successful exchange.
func (m *Manager) MarkSucceeded(e *Endpoint) {
	// Check first: the common case writes nothing, keeping the cache line shared.
	if e.lastFail.Load() != 0 {
		e.lastFail.Store(0)
		e.failures.Store(0)
	}
}

// Endpoints returns the pool's current endpoints (shared; do not modify).
func (m *Manager) Endpoints(key string) []*Endpoint {
	p := (*m.pools.Load())[key]
	if p == nil {
		return nil
	}
	return *p.endpoints.Load()
}

// Defaults for NewTransport, from ingress-nginx (proxy-connect-timeout 5 s,
// proxy-read-timeout 60 s; see ingress-semantics §4.7).
const (
	DefaultConnectTimeout        = exchange.DefaultConnectTimeout
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultMaxIdleConnsPerHost   = 256
	DefaultIdleConnTimeout       = 90 * time.Second
)

// TransportOptions tunes NewTransport; zero values mean the defaults.
type TransportOptions struct {
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout zero means none: the proxy enforces each
	// route's proxy-read-timeout itself (a transport-wide bound would cut
	// routes that allow longer).
	ResponseHeaderTimeout time.Duration
	MaxIdleConnsPerHost   int
	// Logger receives what FastCGI applications write to stderr (nginx
	// logs it as "FastCGI sent in stderr"); nil discards it.
	Logger *slog.Logger
}

// NewTransport returns the one transport shared by every pool. Upstreams
// are plain HTTP/1.1 (ingress-nginx's default backend-protocol), so HTTP/2
// is off; compression is off so bodies and Content-Length pass through
// untouched; proxies from the environment are ignored because the data
// plane dials endpoints directly.
func NewTransport(opts TransportOptions) *http.Transport {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            exchange.NewDialer(opts.ConnectTimeout).DialContext,
		ForceAttemptHTTP2:      false,
		Protocols:              &protos,
		MaxIdleConns:           0, // bounded per host instead
		MaxIdleConnsPerHost:    opts.MaxIdleConnsPerHost,
		IdleConnTimeout:        DefaultIdleConnTimeout,
		TLSHandshakeTimeout:    opts.ConnectTimeout,
		ResponseHeaderTimeout:  opts.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
}
