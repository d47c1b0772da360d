package proxy

import "net/http"

// applyPolicy runs the route's annotation policies before the request is
// rewritten and proxied. It returns true when it answered the request
// itself (a redirect, a refusal, a CORS preflight, ...). HTTP behaviour
// families are ordered in policy_http.go; traffic families (body size,
// limits, the pool and endpoint) in policy_traffic.go.
func (h *Handler) applyPolicy(st *reqState, r *http.Request) bool {
	return h.applyHTTPPolicies(st, r)
}
