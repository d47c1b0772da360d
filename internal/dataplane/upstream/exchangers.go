package upstream

import (
	"io"
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/h1"
)

// The exchange types, named here for the proxy (package exchange).
type (
	Attempt        = exchange.Attempt
	Exchanger      = exchange.Exchanger
	AttemptContext = exchange.AttemptContext
	Std            = exchange.Std
)

// H1Transport is the plain-HTTP/1.1 exchanger (package h1).
type H1Transport = h1.Transport

// NewH1Transport returns an h1.Transport that sends what it does not
// carry to fallback; it dials with connectTimeout (0: the default) unless
// the attempt sets one.
func NewH1Transport(fallback *http.Transport, connectTimeout time.Duration) *H1Transport {
	return h1.New(fallback, connectTimeout)
}

// WaitsUpstream reports whether body is an h1 response body, which calls
// Attempt.UpstreamWait before it blocks.
func WaitsUpstream(body io.Reader) bool { return h1.WaitsUpstream(body) }
