package routecfg

import "github.com/moat-ingress/moat/internal/routecfg/vartemplate"

// Redirect is the redirect family of a route: permanent-redirect and
// temporal-redirect (URL and Code), and the options that shape moat's own
// redirects (relative-redirects, use-port-in-redirects,
// preserve-trailing-slash).
type Redirect struct {
	// URL, when set, answers every request with Code and Location, the
	// URL with its request variables expanded.
	URL      string
	Location vartemplate.Template
	Code     int
	// Relative keeps a relative URL as written (nginx absolute_redirect
	// off); otherwise it is made absolute with the request's scheme and
	// host.
	Relative bool
	// UsePort adds the port to HTTPS redirects.
	UsePort bool
	// PreserveTrailingSlash keeps a trailing slash in HTTPS redirects.
	PreserveTrailingSlash bool
}
