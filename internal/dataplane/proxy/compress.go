package proxy

import (
	"net/http"
)

// startCompression puts the compressing writer (dataplane/compress) under
// the response writer when the ConfigMap turns compression on, for the
// proxied response (and error pages); moat's own short answers are left
// alone.
func (h *Handler) startCompression(st *reqState, w http.ResponseWriter, r *http.Request) {
	if g := st.http.global; g != nil && g.Compression.On() {
		st.cw.Reset(w, r, g.Compression, h.encoders)
		st.rw.W = &st.cw
	}
}

// endCompression runs in finish: an encoder left open by a cut-short
// response goes back to its pool unwritten, and the access log counts the
// bytes the client got ($body_bytes_sent is after compression in nginx).
func (st *reqState) endCompression() {
	if st.cw.Active() {
		st.cw.Abort()
		st.rw.Bytes = st.cw.BytesSent()
	}
}
