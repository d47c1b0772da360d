package routecfg

// ErrorPages is custom-http-errors and the default-backend annotation,
// as ingress-nginx's error_page ... = @custom_<upstream>_<code> locations:
// an answer with one of Codes is replaced by the answer of a default
// backend asked for "/" with X-Code and friends.
type ErrorPages struct {
	// Codes are the Ingress's custom-http-errors, or the ConfigMap's
	// when the annotation is not set (the location inherits nginx's
	// http-level error_page directives).
	Codes []int
	// Pool answers the error pages: the default-backend annotation's
	// pool when the Ingress also sets custom-http-errors (ingress-nginx's
	// custom-default-backend-NS-NAME upstream). "", or a pool without
	// ready endpoints, means the controller's default backend
	// (Config.DefaultBackend), and without one the built-in 404.
	Pool string
	// Intercept replaces upstream answers with one of Codes (nginx's
	// proxy_intercept_errors on). moat's own answers with one of Codes
	// (502, 503, 504, 403, ...) are replaced whatever it says: nginx's
	// error_page applies to the answers nginx makes itself.
	Intercept bool
	// Backend is the default-backend annotation's pool (""; none): it
	// serves the routes whose Service has no ready endpoint (see
	// Route.NoEndpoints).
	Backend string
}

// Has reports whether code is replaced.
func (e *ErrorPages) Has(code int) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}
