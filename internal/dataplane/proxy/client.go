package proxy

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/clientbody"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/extauth"
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
		// Every chunked HTTP/1 request closes its connection after the
		// answer, so bytes after the last chunk are never read as another
		// request. The parser (h1parse) already refuses the framings two
		// parsers could read differently; this stays as defence in depth,
		// where nginx keeps the connection (chunked requests are rare).
		closeAfter(w)
	}
	// HTTP/2 gives a request without a body a Body too, with
	// ContentLength 0: no deadline is needed (nor paid for) there.
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		rd, _ := w.(clientbody.ReadDeadliner)
		st.body.Reset(r.Body, rd, lim.BodyTimeout, r.ProtoMajor == 1)
		r.Body = &st.body
	}
	return false
}

func closeAfter(w http.ResponseWriter) { w.Header()["Connection"] = valClose }

var valClose = []string{"close"}

// clientBodyFailed answers a request whose body could not be read from
// the client: 413 over proxy-body-size, 408 after client-body-timeout,
// 400 for a malformed body (a bad chunk) or one cut short, as nginx. The
// connection is closed.
func (h *Handler) clientBodyFailed(st *reqState, r *http.Request) {
	status := clientbody.Status(st.body.Err())
	h.logger.LogAttrs(r.Context(), slog.LevelInfo, "client request body error",
		slog.String("host", r.Host), slog.String("client", r.RemoteAddr), slog.String("request_id", st.reqID),
		slog.Int("status", status), slog.Any("error", st.body.Err()))
	if st.rw.WroteHeader || st.rw.Hijacked {
		return
	}
	closeAfter(&st.rw)
	h.local(st, status)
}

// errClientBody reports whether err ended the exchange because the
// client's body failed.
func clientBodyErr(st *reqState) bool { return st.body.Failed() }
