package proxy

import (
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/limiter"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/attempt"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// trafficState is the Handler's state for the traffic families that must
// survive config swaps: limiter zones, keyed by zone name.
type trafficState struct {
	zones *limiter.Registry
}

// zoneIdle is how long an unused limiter zone is kept (a removed Ingress's
// counters go away; an Ingress re-added within the hour keeps them).
const zoneIdle = int64(time.Hour / time.Millisecond)

func newTrafficState() trafficState {
	return trafficState{zones: limiter.NewRegistry(zoneIdle)}
}

// builtinTraffic applies when a Config carries no TrafficDefaults (configs
// built by hand, in tests). It is never modified.
var builtinTraffic = routecfg.DefaultTraffic()

// trafficReq is one request's state for the traffic families. It lives in
// the pooled reqState and is reset with it.
type trafficReq struct {
	defaults *routecfg.TrafficDefaults
	// in is the client's request, for hash keys and cookies on retries.
	in *http.Request
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
	// conn and connKey release a limit-connections count.
	conn    *limiter.Conns
	connKey netip.Addr
	// setCookie is a Set-Cookie value for a new affinity session.
	setCookie string
	// att is the attempt whose response is being read; attStart its start.
	att      *attempt.Attempt
	attStart time.Time
	resBody  attempt.RespBody
	// spool is the request body read whole (proxy-request-buffering).
	spool *spool.Body
}

func (tr *trafficReq) setConfig(c *routecfg.Config) {
	if c != nil {
		tr.defaults = c.TrafficDefaults
	}
}

func (tr *trafficReq) def() *routecfg.TrafficDefaults {
	if tr.defaults != nil {
		return tr.defaults
	}
	return &builtinTraffic
}

// timeouts are the route's upstream timeouts and retries.
func (st *reqState) timeouts() *routecfg.Timeouts {
	if p := st.rt.Policy; p != nil && p.Timeouts != nil {
		return p.Timeouts
	}
	return &st.tr.def().Timeouts
}

func (st *reqState) bodyPolicy() *routecfg.Body {
	if p := st.rt.Policy; p != nil && p.Body != nil {
		return p.Body
	}
	return &st.tr.def().Body
}

// trafficGate runs before the HTTP policies, in nginx's phase order: the
// body size (checked when the location is found), then limit_req and
// limit_conn (preaccess). It returns true when it answered the request.
func (h *Handler) trafficGate(st *reqState, r *http.Request) bool {
	body := st.bodyPolicy()
	if max := body.MaxBytes; max > 0 {
		// proxy-body-size has one home: a declared length over it is
		// answered here, a body of unknown length is counted as it is
		// read (clientBody), whoever reads it (buffering, spooling,
		// streaming, the WAF), and fails with errBodyTooLarge, which
		// clientBodyFailed answers with the same local 413.
		if r.ContentLength > max {
			h.local(st, http.StatusRequestEntityTooLarge)
			return true
		}
		if r.ContentLength < 0 {
			st.body.max = max
		}
	}
	st.rw.holdFlush = body.ResponseBuffering
	st.maxResponseHeader = body.ResponseHeaderMax
	if p := st.rt.Policy; p != nil && p.Limits != nil {
		if code := h.limit(st, r, p.Limits); code != 0 {
			h.local(st, code)
			return true
		}
	}
	return false
}

// remoteAddr is the client's address as nginx's $remote_addr: the real IP
// when forwarded headers are trusted (set by applyEarly), else the peer.
func (st *reqState) remoteAddr(r *http.Request) netip.Addr {
	if st.http.client.IsValid() {
		return st.http.client
	}
	return vars.Peer(r)
}

// limit applies limit-rps, limit-rpm and limit-connections; it returns the
// status to answer, or 0.
func (h *Handler) limit(st *reqState, r *http.Request, l *routecfg.Limits) int {
	if l.RPS == 0 && l.RPM == 0 && l.Connections == 0 {
		return 0
	}
	a := st.remoteAddr(r)
	for _, p := range l.Allow {
		if p.Contains(a) {
			return 0
		}
	}
	now := h.now().UnixMilli()
	def := st.tr.def()
	var rps *limiter.Requests
	if l.RPS > 0 {
		rps = h.traffic.zones.Requests(l.Zone+"#rps", now)
		if !rps.Allow(a, now, l.RPS, 1000, l.BurstRPS) {
			return def.LimitReqStatus
		}
	}
	if l.RPM > 0 {
		if !h.traffic.zones.Requests(l.Zone+"#rpm", now).Allow(a, now, l.RPM, 60_000, l.BurstRPM) {
			if rps != nil {
				rps.Refund(a)
			}
			return def.LimitReqStatus
		}
	}
	if l.Connections > 0 {
		z := h.traffic.zones.Conns(l.Zone, now)
		if !z.Acquire(a, l.Connections, now) {
			return def.LimitConnStatus
		}
		st.tr.conn, st.tr.connKey = z, a
	}
	return 0
}

// trafficFinish releases what the request held and feeds the balancers.
func (h *Handler) trafficFinish(st *reqState) {
	tr := &st.tr
	tr.spool.Close()
	if tr.conn != nil {
		tr.conn.Release(tr.connKey)
	}
	if tr.att != nil {
		tr.att.Release()
		if algorithm(tr) == routecfg.EWMA && st.ep != nil {
			h.upstreams.ObserveLatency(st.ep, h.now().Sub(tr.attStart))
		}
	}
}

// pickEndpoint chooses the pool (the route's, or its canary's) and the
// endpoint. Routes without a policy take the plain round robin.
func (h *Handler) pickEndpoint(st *reqState, r *http.Request, pool string) *upstream.Endpoint {
	rt := st.rt
	st.tr.pool = pool
	p := rt.Policy
	if p == nil && st.tr.def().Balance == routecfg.RoundRobin {
		return h.upstreams.Pick(pool)
	}
	st.tr.in = r
	st.tr.tried = st.tr.triedBuf[:0]
	if p == nil {
		// The ConfigMap's load-balance (ewma) applies to every route.
		st.tr.bal, st.tr.aff = nil, nil
		return h.choose(st, false)
	}
	st.tr.bal, st.tr.aff = p.Balance, p.Affinity
	if c := p.Canary; c != nil && h.toCanary(st, r, c) {
		st.tr.pool, st.tr.bal, st.tr.aff, st.tr.canary = c.Pool, c.Balance, c.Affinity, true
	}
	return h.choose(st, false)
}

// toCanary is ingress-nginx's route_to_alternative_balancer: a request
// whose affinity cookie belongs to the main or the canary backend stays
// there; then canary-by-header, canary-by-cookie and canary-weight decide.
// A canary without endpoints, or a main pool without any, gets nothing.
func (h *Handler) toCanary(st *reqState, r *http.Request, c *routecfg.Canary) bool {
	if len(h.upstreams.Endpoints(c.Pool)) == 0 || len(h.upstreams.Endpoints(st.rt.Pool)) == 0 {
		return false
	}
	legacy := c.Affinity != nil && c.Affinity.CanaryLegacy
	if a := st.rt.Policy.Affinity; a != nil && !legacy && affinitized(r, a, st.rt.Pool) {
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

// choose picks an endpoint of st.tr.pool not tried yet; retry says an
// attempt failed. It records the endpoint as tried.
func (h *Handler) choose(st *reqState, retry bool) *upstream.Endpoint {
	tr := &st.tr
	var ep *upstream.Endpoint
	switch {
	case tr.aff != nil:
		ep = h.affinityPick(st, retry)
	case tr.bal != nil && tr.bal.HashBy != nil:
		ep = h.upstreams.PickHash(tr.pool, vars.Hash(tr.in, st.http.client, tr.bal.HashBy), tr.bal.HashSubsetSize, tr.tried)
	case algorithm(tr) == routecfg.EWMA:
		ep = h.upstreams.PickEWMA(tr.pool, tr.tried)
	default:
		ep = h.upstreams.PickExcept(tr.pool, tr.tried)
	}
	if ep != nil {
		tr.tried = append(tr.tried, ep)
	}
	return ep
}

func algorithm(tr *trafficReq) routecfg.Algorithm {
	if tr.bal != nil {
		return tr.bal.Algorithm
	}
	return tr.def().Balance
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
func (h *Handler) affinityPick(st *reqState, retry bool) *upstream.Endpoint {
	tr := &st.tr
	a := tr.aff
	if key, _, ok := affinityValue(tr.in, a); ok && !(retry && a.ChangeOnFailure) {
		var ep *upstream.Endpoint
		if a.Mode == routecfg.AffinityPersistent {
			ep = h.upstreams.FindToken(tr.pool, key)
		} else {
			ep = h.upstreams.PickKey(tr.pool, key, nil)
		}
		if ep != nil {
			for _, t := range tr.tried {
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
		ep = h.upstreams.PickExcept(tr.pool, tr.tried)
		if ep != nil {
			key = ep.Token(tr.pool)
		}
	} else {
		// sticky_balanced.lua: random keys until one maps to an endpoint
		// this request has not tried (at most 20).
		for i := 0; i < 20; i++ {
			k := strconv.FormatUint(rand.Uint64(), 36)
			if e := h.upstreams.PickKey(tr.pool, k, tr.tried); e != nil {
				ep, key = e, k
				break
			}
		}
	}
	if ep != nil {
		tr.setCookie = affinityCookie(a, key+"|"+upstream.PoolToken(tr.pool), tr.in, st.rt, h.now())
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
