package proxy

import "net/http"

// applyHTTPPolicies runs the HTTP behaviour families; true: answered.
func (h *Handler) applyHTTPPolicies(st *reqState, r *http.Request) bool {
	return false
}
