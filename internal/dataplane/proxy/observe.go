package proxy

import (
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/metrics"
)

// observe records the finished request in the metrics.
func (h *Handler) observe(st *reqState, r *http.Request, start, end time.Time, status int) {
	m := metrics.Request{
		VH: st.vh, RT: st.rt, Canary: st.canary(),
		Method: r.Method, Status: status,
		Duration:     end.Sub(start),
		RequestSize:  accesslog.RequestLength(r),
		ResponseSize: st.bytesSent(),
	}
	if st.up.Upstream && !st.up.UpFailed {
		m.Upstream = true
		m.Connect, m.Header, m.Response = st.up.Connect, st.up.Header, end.Sub(st.up.AttStart)
	}
	h.metrics.ObserveRequest(&m)
}
