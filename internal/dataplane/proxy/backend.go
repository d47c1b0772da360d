package proxy

import (
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
)

// Backends returns how to reach a pool: its transport and URL scheme
// (upstream.Transports.For).
type Backends interface {
	For(pool string) upstream.Backend
	// Plain reports a pool reached over plain HTTP/1.1.
	Plain(pool string) bool
}

// wantsHTTP10 is proxy-http-version 1.0 on the request's route.
func (st *reqState) wantsHTTP10() bool {
	return st.rt != nil && st.rt.Policy != nil && st.rt.Policy.Headers != nil && st.rt.Policy.Headers.HTTP10
}

// chooseBackend records the pool's transport and scheme in st;
// proxy-http-version 1.0 applies to plain-HTTP pools only (nginx's
// grpc_pass and fastcgi_pass ignore it; HTTPS keeps closing instead).
func (h *Handler) chooseBackend(st *reqState, pool string) {
	if h.backends != nil {
		st.up.Backend = h.backends.For(pool)
	} else {
		st.up.Backend = h.fallback
	}
	// Plain is asked only for the rare proxy-http-version 1.0 route: it
	// is a second map lookup, not one for every request.
	if st.wantsHTTP10() && (h.backends == nil || h.backends.Plain(pool)) {
		st.up.Backend = upstream.Backend{Transport: upstream.HTTP10{Next: st.up.Backend.Transport}, Scheme: "http"}
	}
}

// upstreamScheme is the outgoing URL's scheme; overTLS tells whether the
// request came over HTTPS, which AUTO_HTTP follows.
func (st *reqState) upstreamScheme(overTLS bool) string {
	if overTLS && st.up.Backend.AutoTLS != nil {
		return "https"
	}
	if st.up.Backend.Scheme != "" {
		return st.up.Backend.Scheme
	}
	return "http"
}
