package proxy

import "net/http"

// applyPolicy runs the route's annotation policies before the request is
// rewritten and proxied. It returns true when it answered the request
// itself (a redirect, a refusal, a CORS preflight, ...).
func (h *Handler) applyPolicy(st *reqState, r *http.Request) bool {
	_ = st
	_ = r
	return false
}
