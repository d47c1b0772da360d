package proxy

import (
	"net/http"
	"sync"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// logBuffers recycles access-log line buffers; lines are built by hand
// (no encoding/json, no fmt) so logging a request does not allocate.
var logBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// defaultLogFormat is ingress-nginx's default log-format-upstream,
// compiled once; configurations without a ConfigMap use it.
var defaultLogFormat = func() *routecfg.LogFormat {
	f, err := routecfg.ParseLogFormat(routecfg.DefaultLogFormat, routecfg.LogEscapeDefault)
	if err != nil {
		panic(err)
	}
	return &f
}()

// writeAccessLog writes the request's line: the configuration's
// log-format-upstream (ingress-nginx's default when none is set), or
// moat's JSON with --access-log-format=json.
func (h *Handler) writeAccessLog(st *reqState, r *http.Request, start, end time.Time, status int) {
	bp := logBuffers.Get().(*[]byte)
	var b []byte
	if h.accessLogJSON {
		b = st.appendJSONLine((*bp)[:0], r, start, end, status)
	} else {
		f := defaultLogFormat
		if g := st.http.global; g != nil && g.LogFormat != nil {
			f = g.LogFormat
		}
		b = st.appendFormatLine((*bp)[:0], f, r, start, end, status)
	}
	if _, err := h.accessLog.Write(b); err != nil {
		h.accessLogFailed(err) // a failing log sink must not fail requests
	}
	*bp = b
	logBuffers.Put(bp)
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

func (st *reqState) appendFormatLine(b []byte, f *routecfg.LogFormat, r *http.Request, start, end time.Time, status int) []byte {
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

// accessLogFailed counts a failed access-log write and reports the first
// one (a full disk would otherwise make a log line per request).
func (h *Handler) accessLogFailed(err error) {
	h.metrics.AccessLogError()
	if h.logFailed.CompareAndSwap(false, true) {
		h.logger.Warn("writing the access log failed; its lines are lost until it works again, and each failure is counted in moat_access_log_write_errors_total",
			"error", err)
	}
}
