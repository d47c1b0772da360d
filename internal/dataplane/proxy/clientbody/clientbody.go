// Package clientbody is the request body as read from the client: each
// read waits at most client-body-timeout, a body of unknown length is
// bounded by proxy-body-size, and a failed read is remembered so the
// answer is the client's fault (413, 408 or 400), not the upstream's
// (502), whoever was reading (buffering, spooling, streaming, the WAF).
package clientbody

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
)

// ReadDeadliner is the client connection's read deadline (the
// http.ResponseWriter's, on HTTP/1 and HTTP/2).
type ReadDeadliner interface{ SetReadDeadline(time.Time) error }

// Body is the request body as read from the client: each read
// waits at most the body timeout (nginx's client_body_timeout, between
// two reads), a body of unknown length is bounded by proxy-body-size
// (max), and a failed read is remembered so the answer is the client's
// fault (413, 408 or 400), not the upstream's (502).
type Body struct {
	src     io.ReadCloser
	rd      ReadDeadliner
	timeout int64 // ns
	armed   int64 // unix ns when the deadline was last set; 0: none set
	h1      bool
	err     error
	// max > 0 bounds the body (Limit, once the route is known); n
	// counts what was read.
	max, n int64
}

// ErrTooLarge ends a request body of unknown length over
// proxy-body-size (nginx's client_max_body_size).
var ErrTooLarge = errors.New("request body larger than proxy-body-size")

// Read renews the read deadline when a quarter of the timeout has passed
// since it was last set (a deadline update per read would cost more than
// the bound is worth), and clears it at the end of the body: the HTTP/1
// server then reads the connection in the background, where a deadline
// would end the request.
func (b *Body) Read(p []byte) (int, error) {
	if errors.Is(b.err, ErrTooLarge) {
		return 0, b.err
	}
	b.arm()
	n, err := b.src.Read(p)
	if b.n += int64(n); b.max > 0 && b.n > b.max {
		n, err = 0, ErrTooLarge
	}
	switch {
	case err == nil:
	case err == io.EOF:
		if b.armed != 0 {
			_ = b.rd.SetReadDeadline(time.Time{})
			b.armed = 0
		}
	case errors.Is(err, http.ErrBodyReadAfterClose):
		// Closed on our side (the upstream exchange ended): not the
		// client's doing.
	default:
		if b.err == nil {
			b.err = err
		}
		if b.h1 && b.rd != nil {
			// net/http reads on to the end of an HTTP/1 body before it
			// closes the connection: a deadline in the past ends that at
			// once. (On HTTP/2 it would reset the stream before the answer.)
			_ = b.rd.SetReadDeadline(time.Unix(1, 0))
		}
	}
	return n, err
}

// arm sets the read deadline unless it was set less than a quarter of
// the timeout ago.
func (b *Body) arm() {
	if b.rd != nil && b.timeout > 0 {
		now := time.Now()
		if ns := now.UnixNano(); ns-b.armed > b.timeout/4 {
			if b.rd.SetReadDeadline(now.Add(time.Duration(b.timeout))) == nil {
				b.armed = ns
			}
		}
	}
}

func (b *Body) Close() error { return b.src.Close() }

// Reset makes b the body src of the next request, each read bounded by
// timeout (0: none) through rd (nil: none); h1 for HTTP/1, whose body
// net/http reads to the end before closing. The deadline is armed now,
// not at the first read: net/http itself reads a body the handler left
// unread (a redirect, a 404) before answering.
func (b *Body) Reset(src io.ReadCloser, rd ReadDeadliner, timeout time.Duration, h1 bool) {
	*b = Body{src: src, rd: rd, timeout: int64(timeout), h1: h1}
	b.arm()
}

// Limit bounds a body of unknown length to max bytes (proxy-body-size).
func (b *Body) Limit(max int64) { b.max = max }

// Err is the read error the body met first, nil without one.
func (b *Body) Err() error { return b.err }

// Failed reports whether reading the body failed (the client's fault).
func (b *Body) Failed() bool { return b.err != nil && !errors.Is(b.err, io.EOF) }

// Fail records err as the body's failure unless it has one.
func (b *Body) Fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Status is the answer to a request whose body failed with err: 413 over
// proxy-body-size, 408 after client-body-timeout, 400 for a malformed
// body (a bad chunk) or one cut short, as nginx.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case exchange.IsTimeout(err):
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}
