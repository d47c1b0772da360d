package routecfg

import "regexp"

// CORS is the enable-cors family, with ingress-nginx's semantics: an
// allowed Origin gets the Access-Control-* headers on every response,
// and an OPTIONS request from it is answered 204 by moat.
type CORS struct {
	// AnyOrigin answers "*"; otherwise Origins are matched (anchored,
	// case-insensitive, "*" a single DNS label) and the request's Origin
	// is echoed.
	AnyOrigin bool
	Origins   []*regexp.Regexp
	// Header values, as configured or ingress-nginx's defaults.
	AllowMethods, AllowHeaders, ExposeHeaders, MaxAge string
	AllowCredentials                                  bool
	// Gateway API's CORS filter: PreflightStatus answers a preflight (0:
	// 204, as ingress-nginx), and when set a preflight from an origin not
	// allowed is answered with it too, without CORS headers (0: passed to
	// the backend, as ingress-nginx); EchoMethods and EchoHeaders ("*" in the
	// filter) send back the preflight's Access-Control-Request-Method and
	// -Headers. An empty header value is not sent.
	PreflightStatus          int
	EchoMethods, EchoHeaders bool
}

// Allows reports whether origin may use the route.
func (c *CORS) Allows(origin string) bool {
	if c.AnyOrigin {
		return true
	}
	for _, re := range c.Origins {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}
