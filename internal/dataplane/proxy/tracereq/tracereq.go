// Package tracereq is a request's OpenTelemetry server span as
// ingress-nginx's opentelemetry module makes it: started once the route
// is known when the route is traced, propagated to the upstream and to
// auth sub-requests, and ended with the request's attributes and its
// operation name.
package tracereq

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// Span is a traced request's span; the zero value is not traced.
type Span struct {
	span trace.Span
	// name is the span's final name: the annotation's; "" with format
	// set: the ConfigMap's operation name, expanded at the end.
	name   string
	format *logformat.Format
}

// Start begins the server span when route rt is traced (the
// configuration's defaults merged with the Ingress's annotations); path
// names the location.
func (s *Span) Start(t *tracing.Tracer, r *http.Request, cfg *routecfg.Tracing, rt *routecfg.Route, path string) {
	rs := cfg.ForRoute(rt)
	if !rs.On {
		return
	}
	s.span = t.Start(r, rs.Trust, routecfg.LocationName(rt, path))
	if rs.Name != "" {
		s.name = rs.Name
	} else {
		s.format = cfg.OperationName
	}
}

// Active reports whether the request is traced.
func (s *Span) Active() bool { return s.span != nil }

// Inject passes the span's context on in h (the upstream request's or an
// auth sub-request's headers).
func (s *Span) Inject(h http.Header) {
	if s.span != nil {
		tracing.Inject(s.span, h)
	}
}

// NeedsEntry reports whether End needs the access-log entry (the
// operation name is a log format).
func (s *Span) NeedsEntry() bool { return s.format != nil && s.span.IsRecording() }

// End records the finished request on its span and ends it: e is its
// access-log entry (only read when NeedsEntry), server the virtual
// host ("" for the catch-all), port the listener's and peer
// $remote_addr.
func (s *Span) End(r *http.Request, e *accesslog.Entry, server, port string, peer netip.Addr, status int) {
	if !s.span.IsRecording() {
		tracing.End(s.span, "", nil)
		return
	}
	name := s.name
	if s.format != nil {
		var buf [128]byte
		b := buf[:0]
		for i := range s.format.Steps {
			st := &s.format.Steps[i]
			if st.Var == logformat.Literal {
				b = append(b, st.Literal...)
			} else {
				b = accesslog.AppendVar(b, st, logformat.EscapeNone, e)
			}
		}
		name = string(b)
	}
	if server == "" {
		server = "_"
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
	hostPort, _ := strconv.Atoi(port)
	peerPort := 0
	if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		peerPort, _ = strconv.Atoi(p)
	}
	peerIP := ""
	if peer.IsValid() {
		peerIP = peer.String()
	}
	tracing.End(s.span, name, &tracing.Request{
		Method: r.Method, Flavor: flavor, Target: r.RequestURI,
		ServerName: server, Host: r.Host, UserAgent: r.Header.Get("User-Agent"), Scheme: scheme,
		HostPort: hostPort, PeerIP: peerIP, PeerPort: peerPort, Status: status,
	})
}
