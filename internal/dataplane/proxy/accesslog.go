package proxy

import (
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// writeAccessLog writes the request's line (package accesslog).
func (h *Handler) writeAccessLog(st *reqState, r *http.Request, start, end time.Time, status int) {
	e := st.entry(r, start, end, status)
	var f *logformat.Format
	if g := st.http.global; g != nil {
		f = g.LogFormat
	}
	h.accessLog.Write(&e, f)
}

// entry is what the access log reports about the request.
func (st *reqState) entry(r *http.Request, start, end time.Time, status int) accesslog.Entry {
	e := accesslog.Entry{
		Req: r, Start: start, End: end, Status: status,
		Remote: st.remoteAddr(r), ServerPort: st.listenerPort(r), URI: st.uri,
		BodyBytes: st.rw.Bytes, VHost: st.vh, Route: st.rt, Unmatched: st.http.unmatched, Canary: st.canary(),
		Upstream: st.up.Upstream, UpstreamFailed: st.up.UpFailed, UpstreamStatus: st.up.UpStatus,
		AttemptStart: st.up.AttStart, Connect: st.up.Connect, HeaderTime: st.up.Header,
		RequestID: st.reqID,
	}
	if pc := st.proxiedConn(); pc != nil {
		e.ProxyProtocol = pc
	}
	if st.rewritten {
		e.URI = st.path
	}
	if st.rw.W != nil {
		e.Header = st.rw.Header()
	}
	if st.up.EP != nil {
		e.UpstreamAddr = st.up.EP.Address
	}
	return e
}

// defaultLogFormat is ingress-nginx's default log-format-upstream.
var defaultLogFormat = accesslog.DefaultFormat

func (st *reqState) appendFormatLine(b []byte, f *logformat.Format, r *http.Request, start, end time.Time, status int) []byte {
	e := st.entry(r, start, end, status)
	return accesslog.AppendFormat(b, f, &e)
}

func (st *reqState) appendJSONLine(b []byte, r *http.Request, start, end time.Time, status int) []byte {
	e := st.entry(r, start, end, status)
	return accesslog.AppendJSON(b, &e)
}

// bytesSent is nginx's $bytes_sent.
func (st *reqState) bytesSent() int64 {
	if st.rw.W == nil {
		return st.rw.Bytes
	}
	return accesslog.BytesSent(st.rw.Header(), st.rw.Bytes)
}

// servedSource names the Service that served the request: the canary's
// when the canary was chosen, else the route's.
func (st *reqState) servedSource() *routecfg.Source {
	if c := st.canary(); c != nil {
		return &c.Source
	}
	return &st.rt.Source
}

// canary is the route's canary when it served the request, else nil.
func (st *reqState) canary() *routecfg.Canary {
	if !st.up.Pick.Canary() || st.rt == nil || st.rt.Policy == nil {
		return nil
	}
	return st.rt.Policy.Canary
}
