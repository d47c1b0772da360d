// Package exchange is what the proxy and the upstream exchangers share
// about one exchange with an endpoint: the Attempt, the Exchanger
// interface, and the dialer that tells the attempt about connecting.
//
// The Attempt is an argument of every exchange. Only a net/http
// Transport (the HTTPS, gRPC and h1-fallback exchangers, behind Std)
// cannot pass it on: it calls its dialer with nothing of the request but
// a context derived from the request's. For those alone the attempt
// rides in the context (AttemptContext), asked for by the dialer once per
// new connection, never per request.
package exchange

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Attempt is one exchange with an endpoint as the proxy sees it: the
// exchanger asks it for the connect timeout and the response header
// bound, and tells it when a connection is dialed (the proxy's timers
// do not count connecting) and when the response body waits for the
// upstream (the moment to flush what the client has not got yet).
type Attempt interface {
	// ConnectTimeout is proxy-connect-timeout; 0 keeps the dialer's.
	ConnectTimeout() time.Duration
	Dialing()
	Dialed()
	// MaxResponseHeaderBytes bounds the upstream's response header
	// (proxy-buffer-size); 0 keeps the exchanger's bound.
	MaxResponseHeaderBytes() int64
	// UpstreamWait is called while the response body is read, just
	// before the exchanger waits for the upstream to send more, so a
	// streamed response reaches the client as it comes while one that
	// arrives at once leaves in one write.
	UpstreamWait()
	// ServerAddr is the address the client connected to (FastCGI's
	// SERVER_ADDR and SERVER_PORT); nil when unknown.
	ServerAddr() net.Addr
}

// Exchanger sends one request to the endpoint its URL names and returns
// the response, telling at (which may be nil) about the exchange. Each
// pool is bound to one at Apply (upstream.Transports.For).
type Exchanger interface {
	Exchange(req *http.Request, at Attempt) (*http.Response, error)
}

// AttemptContext is a request context that carries its Attempt to the
// dialer of a net/http Transport, which hands its DialContext nothing of
// the request but a context derived from the request's. Exchangers of
// moat's own (h1.Transport, HTTP10) are given the Attempt as an argument
// instead. A proxy that builds its attempt contexts as AttemptContexts
// saves the wrapping per exchange.
type AttemptContext struct {
	context.Context
	At Attempt
}

type attemptKey struct{}

// Value answers the dialer's question (Dialer.DialContext), asked only
// when a net/http Transport dials.
func (c *AttemptContext) Value(key any) any {
	if _, ok := key.(attemptKey); ok {
		return c.At
	}
	return c.Context.Value(key)
}

// Std makes a net/http RoundTripper an Exchanger: the Attempt rides in
// the request's context to the dialer (AttemptContext).
type Std struct{ http.RoundTripper }

// Exchange implements Exchanger.
func (s Std) Exchange(req *http.Request, at Attempt) (*http.Response, error) {
	return s.RoundTrip(withAttempt(req, at))
}

func withAttempt(req *http.Request, at Attempt) *http.Request {
	if at == nil {
		return req
	}
	if c, ok := req.Context().(*AttemptContext); ok && c.At == at {
		return req
	}
	return req.WithContext(&AttemptContext{Context: req.Context(), At: at})
}

// DefaultConnectTimeout is nginx's proxy_connect_timeout default.
const DefaultConnectTimeout = 5 * time.Second

// Dialer connects to endpoints for every exchanger.
type Dialer struct{ net.Dialer }

// NewDialer returns a Dialer with timeout (0: DefaultConnectTimeout)
// unless an attempt sets its own.
func NewDialer(timeout time.Duration) *Dialer {
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	return &Dialer{net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}}
}

// DialContext is the dialer of net/http Transports: the attempt comes in
// the context (AttemptContext).
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	at, _ := ctx.Value(attemptKey{}).(Attempt)
	return d.Dial(ctx, network, addr, at)
}

// Dial connects with the attempt's connect timeout, telling it while the
// connection is being dialed.
func (d *Dialer) Dial(ctx context.Context, network, addr string, at Attempt) (net.Conn, error) {
	if at == nil {
		return d.Dialer.DialContext(ctx, network, addr)
	}
	t := at.ConnectTimeout()
	at.Dialing()
	defer at.Dialed()
	if t > 0 && t != d.Timeout {
		dd := d.Dialer
		dd.Timeout = t
		return dd.DialContext(ctx, network, addr)
	}
	return d.Dialer.DialContext(ctx, network, addr)
}

// IsDialError reports whether err is a failure to connect.
func IsDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsTimeout reports whether err is a timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
