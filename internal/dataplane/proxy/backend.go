package proxy

import (
	"net/http"
	"strings"

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
		if st.backend.AutoTLS != nil && r.TLS != nil {
			// AUTO_HTTP: the request came over HTTPS (the outgoing
			// request is a clone of the incoming one, TLS state included).
			return st.backend.AutoTLS.RoundTrip(r)
		}
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

// upstreamScheme is the outgoing URL's scheme; overTLS tells whether the
// request came over HTTPS, which AUTO_HTTP follows.
func (st *reqState) upstreamScheme(overTLS bool) string {
	if overTLS && st.backend.AutoTLS != nil {
		return "https"
	}
	if st.backend.Scheme != "" {
		return st.backend.Scheme
	}
	return "http"
}

// grpcStatusKeys are the fields of a gRPC status.
var grpcStatusKeys = [...]string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// grpcTrailersOnly moves the status of a gRPC "trailers-only" response (a
// HEADERS frame that ends the stream, which the HTTP/2 client reports as
// headers with an empty body) into trailers. ReverseProxy with
// FlushInterval -1 may flush the headers before it sees the empty body
// end, splitting them from END_STREAM; gRPC clients then read the status
// as ordinary headers and fail with "server closed the stream without
// sending trailers". As trailers the status arrives either way.
func grpcTrailersOnly(res *http.Response) {
	if res.ContentLength != 0 || len(res.Trailer) > 0 || res.Header["Grpc-Status"] == nil ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") {
		return
	}
	tr := make(http.Header, len(grpcStatusKeys))
	for _, k := range grpcStatusKeys {
		if v, ok := res.Header[k]; ok {
			tr[k] = v
			delete(res.Header, k)
		}
	}
	res.Trailer = tr
}
