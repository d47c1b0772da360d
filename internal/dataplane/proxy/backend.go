package proxy

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
)

// Backends returns how to reach a pool: its transport and URL scheme
// (upstream.Transports.For).
type Backends interface {
	For(pool string) upstream.Backend
}

// dispatch is the ReverseProxy's transport: it sends each request through
// the transport its pool's backend protocol and TLS settings chose.
type dispatch struct{ fallback http.RoundTripper }

func (d dispatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok && st.backend.Transport != nil {
		return st.backend.Transport.RoundTrip(r)
	}
	return d.fallback.RoundTrip(r)
}

// chooseBackend records the pool's transport and scheme in st.
func (h *Handler) chooseBackend(st *reqState, pool string) {
	if h.backends != nil {
		st.backend = h.backends.For(pool)
	}
}

// upstreamScheme is the outgoing URL's scheme.
func (st *reqState) upstreamScheme() string {
	if st.backend.Scheme != "" {
		return st.backend.Scheme
	}
	return "http"
}
