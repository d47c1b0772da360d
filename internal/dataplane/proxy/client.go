package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/extauth"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// defaultClients applies when a Config carries no ClientLimits.
var defaultClients = routecfg.DefaultClientLimits()

// clientGate applies the per-request client limits before routing: a NUL
// in the decoded path (400, as nginx), an auth sub-request looping back
// into moat (508), keep-alive-requests and chunked HTTP/1 requests (the
// connection closes after the answer), and the request body's read
// timeout (client-body-timeout). It returns true when it has answered.
func (h *Handler) clientGate(st *reqState, w http.ResponseWriter, r *http.Request, lim *routecfg.ClientLimits) bool {
	// A decoded %00 can only come from an escape: look only when there is one.
	if strings.IndexByte(r.RequestURI, '%') >= 0 && strings.IndexByte(r.URL.Path, 0) >= 0 {
		h.logger.Debug("client sent a NUL in the path", "host", r.Host, "request_id", st.reqID)
		closeAfter(w)
		h.local(st, http.StatusBadRequest)
		return true
	}
	if v, ok := r.Header[extauth.HopHeader]; ok {
		delete(r.Header, extauth.HopHeader) // never forwarded
		if d, mine := h.auth.Hop(v); mine {
			st.http.authDepth = d
			if d > extauth.MaxDepth {
				h.logger.Warn("auth sub-request loops back into moat; refused", "host", r.Host, "path", r.URL.Path, "depth", d, "request_id", st.reqID)
				h.local(st, http.StatusLoopDetected)
				return true
			}
		}
	}
	if c := st.clientConn(); c != nil && c.Request(lim.KeepAliveRequests) {
		closeAfter(w)
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// net/http frames a body sent with both Content-Length and
		// Transfer-Encoding by the latter and removes the former before
		// the handler sees it, so such a request cannot be told apart:
		// every chunked HTTP/1 request closes its connection after the
		// answer (RFC 9112 section 6.1), so bytes after the last chunk are
		// never read as another request.
		closeAfter(w)
	}
	// HTTP/2 gives a request without a body a Body too, with
	// ContentLength 0: no deadline is needed (nor paid for) there.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		st.body = clientBody{src: r.Body, timeout: int64(lim.BodyTimeout), h1: r.ProtoMajor == 1}
		st.body.rd, _ = w.(readDeadliner)
		// Armed now, not at the first read: net/http itself reads a body
		// the handler left unread (a redirect, a 404) before answering.
		st.body.arm()
		r.Body = &st.body
	}
	return false
}

func closeAfter(w http.ResponseWriter) { w.Header()["Connection"] = valClose }

var valClose = []string{"close"}

type readDeadliner interface{ SetReadDeadline(time.Time) error }

// clientBody is the request body as read from the client: each read
// waits at most the body timeout (nginx's client_body_timeout, between
// two reads), a body of unknown length is bounded by proxy-body-size
// (max), and a failed read is remembered so the answer is the client's
// fault (413, 408 or 400), not the upstream's (502).
type clientBody struct {
	src     io.ReadCloser
	rd      readDeadliner
	timeout int64 // ns
	armed   int64 // unix ns when the deadline was last set; 0: none set
	h1      bool
	err     error
	// max > 0 bounds the body (set by trafficGate once the route is
	// known); n counts what was read.
	max, n int64
}

// errBodyTooLarge ends a request body of unknown length over
// proxy-body-size (nginx's client_max_body_size).
var errBodyTooLarge = errors.New("request body larger than proxy-body-size")

// Read renews the read deadline when a quarter of the timeout has passed
// since it was last set (a deadline update per read would cost more than
// the bound is worth), and clears it at the end of the body: the HTTP/1
// server then reads the connection in the background, where a deadline
// would end the request.
func (b *clientBody) Read(p []byte) (int, error) {
	if errors.Is(b.err, errBodyTooLarge) {
		return 0, b.err
	}
	b.arm()
	n, err := b.src.Read(p)
	if b.n += int64(n); b.max > 0 && b.n > b.max {
		n, err = 0, errBodyTooLarge
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
func (b *clientBody) arm() {
	if b.rd != nil && b.timeout > 0 {
		now := time.Now()
		if ns := now.UnixNano(); ns-b.armed > b.timeout/4 {
			if b.rd.SetReadDeadline(now.Add(time.Duration(b.timeout))) == nil {
				b.armed = ns
			}
		}
	}
}

func (b *clientBody) Close() error { return b.src.Close() }

// clientBodyFailed answers a request whose body could not be read from
// the client: 413 over proxy-body-size, 408 after client-body-timeout,
// 400 for a malformed body (a bad chunk) or one cut short, as nginx. The
// connection is closed.
func (h *Handler) clientBodyFailed(st *reqState, r *http.Request) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(st.body.err, errBodyTooLarge):
		status = http.StatusRequestEntityTooLarge
	case exchange.IsTimeout(st.body.err):
		status = http.StatusRequestTimeout
	}
	h.logger.LogAttrs(r.Context(), slog.LevelInfo, "client request body error",
		slog.String("host", r.Host), slog.String("client", r.RemoteAddr), slog.String("request_id", st.reqID),
		slog.Int("status", status), slog.Any("error", st.body.err))
	if st.rw.WroteHeader || st.rw.Hijacked {
		return
	}
	closeAfter(&st.rw)
	h.local(st, status)
}

// errClientBody reports whether err ended the exchange because the
// client's body failed.
func clientBodyErr(st *reqState) bool { return st.body.err != nil && !errors.Is(st.body.err, io.EOF) }
