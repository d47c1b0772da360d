// Package balance chooses the endpoint of a request, as ingress-nginx's
// balancer.lua: the canary decision (header, cookie, weight), then the
// pool's balancing (round robin, EWMA, consistent hash by
// upstream-hash-by) or its session affinity (sticky cookies), and on a
// retry the next endpoint not tried yet. The proxy keeps one Req per
// request and asks Pick, then Next for each retry.
package balance

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Balancer picks endpoints of Ups; Now stamps affinity cookies.
type Balancer struct {
	Ups *upstream.Manager
	Now func() time.Time
}

// Req is one request's choice: its pool, what has been tried, and the
// affinity cookie of a new session. The zero value is ready.
type Req struct {
	// in is the client's request, for hash keys and cookies on retries.
	in     *http.Request
	rt     *routecfg.Route
	client netip.Addr
	def    routecfg.Algorithm
	// pool is the pool the request is served from: the route's, or its
	// canary's; bal and aff are that pool's balancing and affinity.
	pool   string
	bal    *routecfg.Balance
	aff    *routecfg.Affinity
	canary bool
	// tried are the endpoints attempted so far (triedBuf avoids an
	// allocation for the first few).
	tried    []*upstream.Endpoint
	triedBuf [4]*upstream.Endpoint
	// setCookie is a Set-Cookie value for a new affinity session.
	setCookie string
}

// Pool is the pool the request is served from.
func (q *Req) Pool() string { return q.pool }

// Canary reports whether the canary took the request.
func (q *Req) Canary() bool { return q.canary }

// SetCookie is the Set-Cookie value of a new affinity session, or "".
func (q *Req) SetCookie() string { return q.setCookie }

// In is the client's request when Pick kept it (every policy but the
// plain round robin), else nil.
func (q *Req) In() *http.Request { return q.in }

// Tried is how many endpoints were attempted.
func (q *Req) Tried() int { return len(q.tried) }

// First records ep, picked by Pick's plain round robin, as tried.
func (q *Req) First(ep *upstream.Endpoint) {
	if len(q.tried) == 0 {
		q.tried = append(q.triedBuf[:0], ep)
	}
}

// Again records ep, an endpoint picked again (a Gateway API retry with
// none left), as tried.
func (q *Req) Again(ep *upstream.Endpoint) { q.tried = append(q.tried, ep) }

// Pick chooses the pool (the route's, or its canary's) and the endpoint
// for r on route rt; def is the ConfigMap's load-balance and client the
// request's $remote_addr (invalid: the peer). Routes without a policy
// take the plain round robin.
func (b *Balancer) Pick(q *Req, r *http.Request, rt *routecfg.Route, pool string, def routecfg.Algorithm, client netip.Addr) *upstream.Endpoint {
	q.pool, q.def, q.client, q.rt = pool, def, client, rt
	p := rt.Policy
	if p == nil && def == routecfg.RoundRobin {
		return b.Ups.Pick(pool)
	}
	q.in = r
	q.tried = q.triedBuf[:0]
	if p == nil {
		// The ConfigMap's load-balance (ewma) applies to every route.
		q.bal, q.aff = nil, nil
		return b.Next(q, false)
	}
	q.bal, q.aff = p.Balance, p.Affinity
	if c := p.Canary; c != nil && b.ToCanary(r, rt, c) {
		q.pool, q.bal, q.aff, q.canary = c.Pool, c.Balance, c.Affinity, true
	}
	return b.Next(q, false)
}

// ToCanary is ingress-nginx's route_to_alternative_balancer: a request
// whose affinity cookie belongs to the main or the canary backend stays
// there; then canary-by-header, canary-by-cookie and canary-weight decide.
// A canary without endpoints, or a main pool without any, gets nothing.
func (b *Balancer) ToCanary(r *http.Request, rt *routecfg.Route, c *routecfg.Canary) bool {
	if len(b.Ups.Endpoints(c.Pool)) == 0 || len(b.Ups.Endpoints(rt.Pool)) == 0 {
		return false
	}
	legacy := c.Affinity != nil && c.Affinity.CanaryLegacy
	if a := rt.Policy.Affinity; a != nil && !legacy && affinitized(r, a, rt.Pool) {
		return false
	}
	if a := c.Affinity; a != nil && !legacy && affinitized(r, a, c.Pool) {
		return true
	}
	if c.Header != "" {
		if vs := vars.HeaderValues(r, c.Header); len(vs) > 0 {
			v := vs[0]
			switch {
			case c.HeaderValue != "":
				if v == c.HeaderValue {
					return true
				}
			case c.HeaderPattern != nil:
				if c.HeaderPattern.MatchString(v) {
					return true
				}
			case v == "always":
				return true
			case v == "never":
				return false
			}
		}
	}
	if c.Cookie != "" {
		if v, ok := vars.CookieValue(r.Header, c.Cookie); ok {
			switch v {
			case "always":
				return true
			case "never":
				return false
			}
		}
	}
	// balancer.lua: math.random(total) <= weight, where total is
	// canary-weight-total only when above 100.
	return c.Weight > 0 && rand.IntN(max(c.WeightTotal, 100)) < c.Weight
}

// Next picks an endpoint of q's pool not tried yet; retry says an
// attempt failed. It records the endpoint as tried.
func (b *Balancer) Next(q *Req, retry bool) *upstream.Endpoint {
	var ep *upstream.Endpoint
	switch {
	case q.aff != nil:
		ep = b.affinityPick(q, retry)
	case q.bal != nil && q.bal.HashBy != nil:
		ep = b.Ups.PickHash(q.pool, vars.Hash(q.in, q.client, q.bal.HashBy), q.bal.HashSubsetSize, q.tried)
	case q.Algorithm() == routecfg.EWMA:
		ep = b.Ups.PickEWMA(q.pool, q.tried)
	default:
		ep = b.Ups.PickExcept(q.pool, q.tried)
	}
	if ep != nil {
		q.tried = append(q.tried, ep)
	}
	return ep
}

// Algorithm is the balancing of the request's pool.
func (q *Req) Algorithm() routecfg.Algorithm {
	if q.bal != nil {
		return q.bal.Algorithm
	}
	return q.def
}

// affinityValue splits an affinity cookie "key|pooltoken".
func affinityValue(r *http.Request, a *routecfg.Affinity) (key, pool string, ok bool) {
	v, ok := vars.CookieValue(r.Header, a.CookieName)
	if !ok {
		return "", "", false
	}
	key, pool, _ = strings.Cut(v, "|")
	return key, pool, key != ""
}

// affinitized is sticky.lua's is_affinitized: the cookie names pool.
func affinitized(r *http.Request, a *routecfg.Affinity, pool string) bool {
	_, p, ok := affinityValue(r, a)
	return ok && p == upstream.PoolToken(pool)
}

// affinityPick is ingress-nginx's sticky balancer: the endpoint the cookie
// names (persistent) or maps to (balanced); otherwise a new session on a
// fresh endpoint, announced with Set-Cookie. After a failed attempt the
// session moves only with session-cookie-change-on-failure; otherwise the
// retry has nowhere to go.
func (b *Balancer) affinityPick(q *Req, retry bool) *upstream.Endpoint {
	a := q.aff
	if key, _, ok := affinityValue(q.in, a); ok && !(retry && a.ChangeOnFailure) {
		var ep *upstream.Endpoint
		if a.Mode == routecfg.AffinityPersistent {
			ep = b.Ups.FindToken(q.pool, key)
		} else {
			ep = b.Ups.PickKey(q.pool, key, nil)
		}
		if ep != nil {
			for _, t := range q.tried {
				if t == ep {
					return nil
				}
			}
			return ep
		}
	}
	var ep *upstream.Endpoint
	var key string
	if a.Mode == routecfg.AffinityPersistent {
		ep = b.Ups.PickExcept(q.pool, q.tried)
		if ep != nil {
			key = ep.Token(q.pool)
		}
	} else {
		// sticky_balanced.lua: random keys until one maps to an endpoint
		// this request has not tried (at most 20).
		for i := 0; i < 20; i++ {
			k := strconv.FormatUint(rand.Uint64(), 36)
			if e := b.Ups.PickKey(q.pool, k, q.tried); e != nil {
				ep, key = e, k
				break
			}
		}
	}
	if ep != nil {
		q.setCookie = affinityCookie(a, key+"|"+upstream.PoolToken(q.pool), q.in, q.rt, b.Now())
	}
	return ep
}

// affinityCookie renders the Set-Cookie value as sticky.lua's set_cookie:
// HttpOnly always, Secure on HTTPS or when forced, path defaulting to the
// route's.
func affinityCookie(a *routecfg.Affinity, value string, r *http.Request, rt *routecfg.Route, now time.Time) string {
	c := http.Cookie{Name: a.CookieName, Value: value, Path: a.Path, Domain: a.Domain, HttpOnly: true,
		Secure: a.Secure || r.TLS != nil, Partitioned: a.Partitioned}
	if c.Path == "" {
		c.Path = rt.Path
		if rt.Match == routecfg.MatchRegex {
			// A regex is no cookie path; ingress-nginx asks for
			// session-cookie-path here, moat falls back to "/".
			c.Path = "/"
		}
	}
	if a.HasExpires {
		c.Expires = now.Add(time.Duration(a.Expires) * time.Second)
	}
	if a.HasMaxAge {
		c.MaxAge = a.MaxAge
		if a.MaxAge == 0 {
			c.MaxAge = -1 // net/http: "Max-Age=0"
		}
	}
	switch a.SameSite {
	case "None":
		if !a.ConditionalSameSiteNone || sameSiteNoneCompatible(r.UserAgent()) {
			c.SameSite = http.SameSiteNoneMode
		}
	case "Lax":
		c.SameSite = http.SameSiteLaxMode
	case "Strict":
		c.SameSite = http.SameSiteStrictMode
	}
	return c.String()
}

// sameSiteNoneCompatible is ingress-nginx's util/same_site.lua: user agents
// that reject SameSite=None cookies.
func sameSiteNoneCompatible(ua string) bool {
	switch {
	case strings.Contains(ua, "Chrome/4"), strings.Contains(ua, "Chrome/5"), strings.Contains(ua, "Chrome/6"):
		return false
	case strings.Contains(ua, "CPU iPhone OS 12"), strings.Contains(ua, "iPad; CPU OS 12"):
		return false
	case strings.Contains(ua, "Macintosh") && strings.Contains(ua, "Intel Mac OS X 10_14") &&
		strings.Contains(ua, "Safari") && !strings.Contains(ua, "Chrome"):
		return false
	}
	return true
}

// PickBackend is a weighted choice among a route's backends (Gateway API
// backendRefs), with the backend picked (nil for none). All weights zero:
// 500, as for a rule without backends.
func PickBackend(bs []routecfg.Backend) (pool string, status int, be *routecfg.Backend) {
	if len(bs) == 1 {
		if bs[0].Weight == 0 {
			return "", http.StatusInternalServerError, nil
		}
		return bs[0].Pool, bs[0].Status, &bs[0]
	}
	total := 0
	for _, b := range bs {
		total += b.Weight
	}
	if total <= 0 {
		return "", http.StatusInternalServerError, nil
	}
	n := rand.IntN(total)
	for i := range bs {
		if n < bs[i].Weight {
			return bs[i].Pool, bs[i].Status, &bs[i]
		}
		n -= bs[i].Weight
	}
	return "", http.StatusInternalServerError, nil // unreachable
}
