package proxy

import (
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
)

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
	st.up.NoFlush()
	res.Body = spool.NewReadAhead(res.Body, b.ResponseBuffers, b.MaxTempFile)
}
