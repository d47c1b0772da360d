package proxy

import (
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
)

// traceInject passes the span's context on in h (package tracereq).
func (st *reqState) traceInject(h http.Header) { st.trace.Inject(h) }

// traceEnd ends the request's span (package tracereq).
func (h *Handler) traceEnd(st *reqState, r *http.Request, start, end time.Time, status int) {
	var e accesslog.Entry
	if st.trace.NeedsEntry() {
		e = st.entry(r, start, end, status)
	}
	server := ""
	if st.vh != nil {
		server = st.vh.Host
	}
	st.trace.End(r, &e, server, st.listenerPort(r), st.remoteAddr(r), status)
}
