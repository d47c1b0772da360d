package proxy

import (
	"errors"
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
)

// errHeadTooBig is nginx's "upstream sent too big header": a response
// head larger than proxy-buffer-size. Like nginx it is answered 502 and
// counts as proxy-next-upstream's invalid_header.
var errHeadTooBig = errors.New("upstream sent too big header (larger than proxy-buffer-size)")

// headTooBig recognises errHeadTooBig and the transports' own errors for
// a head over the bound they were given.
func headTooBig(err error) bool {
	if errors.Is(err, errHeadTooBig) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "response header larger than") || strings.Contains(s, "server response headers exceeded")
}

// headSize is the size of an HTTP/1 response head as the upstream wrote
// it, from the parsed response: status line, "Name: value" lines (the
// form servers write) and the blank line.
func headSize(res *http.Response) int64 {
	n := int64(len(res.Proto) + 1 + len(res.Status) + 2 + 2)
	for k, vs := range res.Header {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	if len(res.TransferEncoding) > 0 {
		// net/http moves Transfer-Encoding out of the header.
		n += int64(len("Transfer-Encoding: ") + len(strings.Join(res.TransferEncoding, ", ")) + 2)
	}
	return n
}

// checkHead applies proxy-buffer-size to a response the transport did not
// bound itself; on failure it closes the body.
func checkHead(st *reqState, res *http.Response) error {
	max := st.bodyPolicy().ResponseHeaderMax
	if max <= 0 || res.ProtoMajor != 1 || headSize(res) <= max {
		return nil
	}
	res.Body.Close()
	return errHeadTooBig
}

// readAhead is proxy-buffering on (or X-Accel-Buffering: yes): the body
// is read from the upstream ahead of the client, in memory up to
// proxy-buffers-number × proxy-buffer-size and then in a temporary file up
// to proxy-max-temp-file-size, so the upstream is released early, as
// nginx's buffering does. Upgrades and gRPC streams are left alone (nginx
// buffers neither: grpc_pass has no proxy_buffering).
func (h *Handler) readAhead(st *reqState, res *http.Response) {
	if !st.rw.HoldFlush || res.StatusCode == http.StatusSwitchingProtocols || res.Body == nil || res.Body == http.NoBody ||
		strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") {
		return
	}
	b := st.bodyPolicy()
	// Flushes are held anyway; the body is now read on another
	// goroutine, which must not touch the client's writer.
	st.tr.resBody.Flush = nil
	if a := st.tr.att; a != nil {
		a.Flush = nil
	}
	res.Body = spool.NewReadAhead(res.Body, b.ResponseBuffers, b.MaxTempFile)
}
