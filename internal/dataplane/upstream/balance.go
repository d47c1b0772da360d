package upstream

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// balanceState is an endpoint's state for the non-default balancers; it
// survives config swaps with the endpoint.
type balanceState struct {
	ewma   atomic.Uint64 // math.Float64bits of the response time in seconds
	ewmaAt atomic.Int64  // unix nanoseconds of the last update; 0 none
	token  atomic.Pointer[string]
}

// ewmaDecay is ingress-nginx's DECAY_TIME (balancer/ewma.lua).
const ewmaDecay = 10 * time.Second

func tried(e *Endpoint, skip []*Endpoint) bool {
	for _, s := range skip {
		if s == e {
			return true
		}
	}
	return false
}

// PickExcept is Pick that never returns an endpoint in skip (the ones a
// request already tried); nil when every endpoint was tried.
func (m *Manager) PickExcept(key string, skip []*Endpoint) *Endpoint {
	if len(skip) == 0 {
		return m.Pick(key)
	}
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
	var fallback *Endpoint
	now := m.now().UnixNano()
	for i := uint64(0); i < n; i++ {
		e := eps[(start+i)%n]
		if tried(e, skip) {
			continue
		}
		if lf := e.lastFail.Load(); lf == 0 || now-lf >= m.failTimeout {
			return e
		}
		if fallback == nil {
			fallback = e
		}
	}
	return fallback
}

// PickEWMA is ingress-nginx's ewma balancer: of two random endpoints not
// in skip, the one with the lower decayed average response time.
func (m *Manager) PickEWMA(key string, skip []*Endpoint) *Endpoint {
	eps := m.Endpoints(key)
	var cand [2]*Endpoint
	k := 0
	// A few random draws find two distinct untried endpoints; a scan
	// covers small or mostly-tried pools.
	for i := 0; i < 8 && k < 2 && len(eps) > 0; i++ {
		e := eps[rand.IntN(len(eps))]
		if !tried(e, skip) && (k == 0 || cand[0] != e) {
			cand[k] = e
			k++
		}
	}
	for i := 0; k < 2 && i < len(eps); i++ {
		if e := eps[i]; !tried(e, skip) && (k == 0 || cand[0] != e) {
			cand[k] = e
			k++
		}
	}
	switch k {
	case 0:
		return nil
	case 1:
		return cand[0]
	}
	now := m.now().UnixNano()
	if ewmaScore(cand[1], now) < ewmaScore(cand[0], now) {
		return cand[1]
	}
	return cand[0]
}

// ewmaScore decays the average towards 0 with the time since it was last
// touched, as ewma.lua's score() does.
func ewmaScore(e *Endpoint, now int64) float64 {
	at := e.bal.ewmaAt.Load()
	if at == 0 {
		return 0
	}
	v := math.Float64frombits(e.bal.ewma.Load())
	td := float64(max(now-at, 0)) / float64(ewmaDecay)
	return v * math.Exp(-td)
}

// ObserveLatency feeds an exchange's duration into e's moving average.
// Concurrent updates may lose one sample; the average does not need more.
func (m *Manager) ObserveLatency(e *Endpoint, d time.Duration) {
	now := m.now().UnixNano()
	at := e.bal.ewmaAt.Load()
	v := math.Float64frombits(e.bal.ewma.Load())
	rtt := d.Seconds()
	if at != 0 {
		w := math.Exp(-float64(max(now-at, 0)) / float64(ewmaDecay))
		v = v*w + rtt*(1-w)
	} else {
		v = rtt
	}
	e.bal.ewma.Store(math.Float64bits(v))
	e.bal.ewmaAt.Store(now)
}

// FNV-1a, used to build hash keys without concatenating strings.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// HashString continues an FNV-1a hash with s; start from HashSeed.
func HashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// HashBytes is HashString for a byte slice.
func HashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// HashSeed is the initial value for HashString.
const HashSeed uint64 = fnvOffset

// mix is splitmix64's finaliser: it spreads FNV's weak low bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rendezvous returns the endpoint of eps with the highest score for key,
// skipping those in skip: consistent hashing without a ring, so adding or
// removing an endpoint moves only the keys it wins or held.
func rendezvous(eps []*Endpoint, key uint64, skip []*Endpoint) *Endpoint {
	var best *Endpoint
	var bestScore uint64
	for _, e := range eps {
		if tried(e, skip) {
			continue
		}
		if s := mix(HashString(key, e.Address)); best == nil || s > bestScore {
			best, bestScore = e, s
		}
	}
	return best
}

// PickHash picks by consistent hashing of key (upstream-hash-by). With
// subset > 0 the key selects a subset of that many endpoints (the pool's
// sorted endpoints cut in order, the last one filled from the start, as
// ingress-nginx's chashsubset) and one of them is picked at random.
func (m *Manager) PickHash(pool string, key uint64, subset int, skip []*Endpoint) *Endpoint {
	eps := m.Endpoints(pool)
	if len(eps) == 0 {
		return nil
	}
	if subset <= 0 || subset >= len(eps) {
		if subset > 0 {
			return randomExcept(eps, skip)
		}
		return rendezvous(eps, key, skip)
	}
	nsub := (len(eps) + subset - 1) / subset
	best, bestScore := 0, uint64(0)
	for i := 0; i < nsub; i++ {
		if s := mix(key ^ mix(uint64(i)+1)); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	var members [64]*Endpoint
	ms := members[:0]
	for j := 0; j < subset && j < len(members); j++ {
		ms = append(ms, eps[(best*subset+j)%len(eps)])
	}
	if e := randomExcept(ms, skip); e != nil {
		return e
	}
	// Every member was tried: fall back to the whole pool.
	return rendezvous(eps, key, skip)
}

func randomExcept(eps []*Endpoint, skip []*Endpoint) *Endpoint {
	if len(eps) == 0 {
		return nil
	}
	start := rand.IntN(len(eps))
	for i := range eps {
		if e := eps[(start+i)%len(eps)]; !tried(e, skip) {
			return e
		}
	}
	return nil
}

// PickKey is PickHash without subsets for a string key: the endpoint a
// balanced affinity cookie's random key maps to.
func (m *Manager) PickKey(pool, key string, skip []*Endpoint) *Endpoint {
	return rendezvous(m.Endpoints(pool), HashString(HashSeed, key), skip)
}

// Token is the endpoint's name in a persistent affinity cookie: a hash of
// the pool key and address, so the cookie never shows an address, and
// every replica and config computes the same value (ingress-nginx uses
// md5(salt .. endpoint) the same way).
func (e *Endpoint) Token(pool string) string {
	if t := e.bal.token.Load(); t != nil {
		return *t
	}
	sum := sha256.Sum256([]byte(pool + "\x00" + e.Address))
	t := hex.EncodeToString(sum[:16])
	e.bal.token.Store(&t)
	return t
}

// FindToken returns the endpoint of pool whose Token is token, or nil.
func (m *Manager) FindToken(pool, token string) *Endpoint {
	if len(token) != 32 {
		return nil
	}
	for _, e := range m.Endpoints(pool) {
		if e.Token(pool) == token {
			return e
		}
	}
	return nil
}

// PoolToken names a pool in affinity cookies (ingress-nginx's backend
// key): a short hash of the pool key.
func PoolToken(pool string) string {
	var b [16]byte
	return string(strconv.AppendUint(b[:0], mix(HashString(HashSeed, pool)), 36))
}
