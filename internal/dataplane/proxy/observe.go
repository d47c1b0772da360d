package proxy

import (
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/metrics"
)

// observation is what one request's exchange with its upstream looked
// like, for the access log ($upstream_*) and the request metrics.
type observation struct {
	// uri is the normalised path the route was matched on ($uri).
	uri string
	// upstream: an upstream was tried; upFailed: it gave no response
	// (upStatus is then the 502 or 504 answered).
	upstream, upFailed bool
	upStatus           int
	// connect is the time to connect (0 on a reused connection); header
	// the time from the attempt's start to the response header.
	connect, header time.Duration
}

// observe records the finished request in the metrics.
func (h *Handler) observe(st *reqState, r *http.Request, start, end time.Time, status int) {
	m := metrics.Request{
		VH: st.vh, RT: st.rt, Canary: st.canary(),
		Method: r.Method, Status: status,
		Duration:     end.Sub(start),
		RequestSize:  accesslog.RequestLength(r),
		ResponseSize: st.bytesSent(),
	}
	if st.obs.upstream && !st.obs.upFailed {
		m.Upstream = true
		m.Connect, m.Header, m.Response = st.obs.connect, st.obs.header, end.Sub(st.tr.attStart)
	}
	h.metrics.ObserveRequest(&m)
}
