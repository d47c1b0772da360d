package proxy

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// traceReq is a traced request's span; span nil: not traced.
type traceReq struct {
	span trace.Span
	// name is the span's final name: the annotation's; "" with format
	// set: the ConfigMap's operation name, expanded at the end.
	name   string
	format *routecfg.LogFormat
}

// traceStart begins the server span when the request's route is traced
// (the configuration's defaults merged with the Ingress's annotations).
// Called once the route is known; untraced configurations never get here.
func (h *Handler) traceStart(st *reqState, r *http.Request, t *tracing.Tracer, cfg *routecfg.Tracing, path string) {
	rs := cfg.ForRoute(st.rt)
	if !rs.On {
		return
	}
	tr := &st.trace
	tr.span = t.Start(r, rs.Trust, routecfg.LocationName(st.rt, path))
	if rs.Name != "" {
		tr.name = rs.Name
	} else {
		tr.format = cfg.OperationName
	}
}

// traceInject passes the span's context on in h (the upstream request's
// or an auth sub-request's headers).
func (st *reqState) traceInject(h http.Header) {
	if st.trace.span != nil {
		tracing.Inject(st.trace.span, h)
	}
}

// traceEnd records the finished request on its span and ends it.
func (h *Handler) traceEnd(st *reqState, r *http.Request, start, end time.Time, status int) {
	tr := &st.trace
	if !tr.span.IsRecording() {
		tracing.End(tr.span, "", nil)
		return
	}
	name := tr.name
	if tr.format != nil {
		var buf [128]byte
		b := buf[:0]
		e := st.entry(r, start, end, status)
		for i := range tr.format.Steps {
			s := &tr.format.Steps[i]
			if s.Var == routecfg.LogLiteral {
				b = append(b, s.Literal...)
			} else {
				b = accesslog.AppendVar(b, s, routecfg.LogEscapeNone, &e)
			}
		}
		name = string(b)
	}
	server := "_"
	if st.vh != nil && st.vh.Host != "" {
		server = st.vh.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	flavor := ""
	switch {
	case r.ProtoMajor == 2:
		flavor = "2.0"
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		flavor = "1.1"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		flavor = "1.0"
	}
	hostPort, _ := strconv.Atoi(st.listenerPort(r))
	peerPort := 0
	if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		peerPort, _ = strconv.Atoi(p)
	}
	peer := ""
	if a := st.remoteAddr(r); a.IsValid() {
		peer = a.String()
	}
	tracing.End(tr.span, name, &tracing.Request{
		Method: r.Method, Flavor: flavor, Target: r.RequestURI,
		ServerName: server, Host: r.Host, UserAgent: r.Header.Get("User-Agent"), Scheme: scheme,
		HostPort: hostPort, PeerIP: peer, PeerPort: peerPort, Status: status,
	})
}
