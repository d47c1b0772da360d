package extauth

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Bounds of the auth answer cache (auth-cache-key). ingress-nginx's
// auth_cache zone drops entries unused for 30 minutes (inactive=30m); the
// entry count bounds memory, the oldest going first.
const (
	authCacheEntries  = 10_000
	authCacheInactive = 30 * time.Minute
)

// authCache holds external auth answers by location and evaluated key,
// across config swaps like nginx's cache across reloads. The zero value
// is ready to use.
type authCache struct {
	mu    sync.Mutex
	m     map[[32]byte]*authEntry
	order [][32]byte // insertion order, for eviction
}

// authEntry is what the auth location's answer decides: its status and
// the headers moat uses from it.
type authEntry struct {
	status   int
	header   http.Header
	expires  time.Time
	lastUsed time.Time
}

func (c *authCache) get(k [32]byte, now time.Time) (*authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) || now.Sub(e.lastUsed) > authCacheInactive {
		delete(c.m, k)
		return nil, false
	}
	e.lastUsed = now
	return e, true
}

func (c *authCache) put(k [32]byte, e *authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]*authEntry)
	}
	if _, ok := c.m[k]; !ok {
		c.order = append(c.order, k)
	}
	c.m[k] = e
	for len(c.m) > authCacheEntries && len(c.order) > 0 {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) > 2*authCacheEntries {
		// Keys replaced or expired leave stale order entries; compact.
		live := c.order[:0]
		seen := make(map[[32]byte]bool, len(c.m))
		for _, o := range c.order {
			if _, ok := c.m[o]; ok && !seen[o] {
				seen[o] = true
				live = append(live, o)
			}
		}
		c.order = append([][32]byte(nil), live...)
	}
}

// authCacheKey is ingress-nginx's proxy_cache_key for the auth location:
// the server name, the location (path and type) and auth-cache-key,
// hashed (its Lua takes a SHA-1; moat SHA-256).
func authCacheKey(q *Request, parts []routecfg.HashPart) [32]byte {
	h := sha256.New()
	if q.VHost != nil {
		h.Write([]byte(q.VHost.Host))
	}
	h.Write([]byte{0})
	if q.Route != nil {
		h.Write([]byte(q.Route.Path))
		h.Write([]byte{0, byte(q.Route.Match)})
	}
	h.Write([]byte{0})
	var buf []byte
	buf = vars.AppendParts(buf, q.R, q.Vars.Client, parts)
	h.Write(buf)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// authCacheTTL is how long nginx's proxy_cache keeps an answer: never
// with Set-Cookie, Vary: *, or Cache-Control no-cache, no-store or
// private; else X-Accel-Expires, then Cache-Control s-maxage / max-age,
// then Expires, then the first auth-cache-duration rule for the status.
// 0 means not cached.
func authCacheTTL(rules []routecfg.CacheRule, status int, h http.Header, now time.Time) time.Duration {
	if len(h["Set-Cookie"]) > 0 || strings.TrimSpace(h.Get("Vary")) == "*" {
		return 0
	}
	if v := h.Get("X-Accel-Expires"); v != "" {
		if at, ok := strings.CutPrefix(v, "@"); ok {
			n, err := strconv.ParseInt(at, 10, 64)
			if err != nil {
				return 0
			}
			return positive(time.Unix(n, 0).Sub(now))
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0
		}
		return positive(time.Duration(n) * time.Second)
	}
	if cc := strings.ToLower(strings.Join(h["Cache-Control"], ",")); cc != "" {
		if strings.Contains(cc, "no-cache") || strings.Contains(cc, "no-store") || strings.Contains(cc, "private") {
			return 0
		}
		for _, d := range []string{"s-maxage=", "max-age="} {
			if i := strings.Index(cc, d); i >= 0 {
				v := cc[i+len(d):]
				end := 0
				for end < len(v) && v[end] >= '0' && v[end] <= '9' {
					end++
				}
				n, err := strconv.Atoi(v[:end])
				if err != nil {
					return 0
				}
				return positive(time.Duration(n) * time.Second)
			}
		}
	}
	if v := h.Get("Expires"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0
		}
		return positive(t.Sub(now))
	}
	for _, rule := range rules {
		if rule.Any {
			return rule.TTL
		}
		for _, c := range rule.Codes {
			if c == status {
				return rule.TTL
			}
		}
	}
	return 0
}

func positive(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
