package proxy

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/limiter"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// zoneIdle is how long an unused limiter zone is kept (a removed Ingress's
// counters go away; an Ingress re-added within the hour keeps them).
const zoneIdle = int64(time.Hour / time.Millisecond)

// builtinTraffic applies when a Config carries no TrafficDefaults (configs
// built by hand, in tests). It is never modified.
var builtinTraffic = routecfg.DefaultTraffic()

// trafficReq is one request's state for the traffic families. It lives in
// the pooled reqState and is reset with it.
type trafficReq struct {
	defaults *routecfg.TrafficDefaults
	// conn and connKey release a limit-connections count.
	conn    *limiter.Conns
	connKey netip.Addr
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
		// streaming, the WAF), and fails with clientbody.ErrTooLarge, which
		// clientBodyFailed answers with the same local 413.
		if r.ContentLength > max {
			h.local(st, http.StatusRequestEntityTooLarge)
			return true
		}
		if r.ContentLength < 0 {
			st.body.Limit(max)
		}
	}
	st.rw.HoldFlush = body.ResponseBuffering
	st.maxResponseHeader = body.ResponseHeaderMax
	if p := st.rt.Policy; p != nil && p.Limits != nil {
		def := st.tr.def()
		a := st.remoteAddr(r)
		code, held := h.zones.Check(p.Limits, a, h.now().UnixMilli(), def.LimitReqStatus, def.LimitConnStatus)
		if code != 0 {
			h.local(st, code)
			return true
		}
		if held != nil {
			st.tr.conn, st.tr.connKey = held, a
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

// pickEndpoint chooses the pool (the route's, or its canary's) and the
// endpoint (package balance).
func (h *Handler) pickEndpoint(st *reqState, r *http.Request, pool string) *upstream.Endpoint {
	return h.balancer.Pick(&st.up.Pick, r, st.rt, pool, st.tr.def().Balance, st.http.client)
}

// trafficFinish releases what the request held and feeds the balancers.
func (h *Handler) trafficFinish(st *reqState) {
	tr := &st.tr
	if tr.conn != nil {
		tr.conn.Release(tr.connKey)
	}
	st.up.Finish()
}
