// Package respheaders holds the response-header families that depend on
// the configuration only, not on the request's state: more_set_headers
// and add_header, CORS, proxy_redirect and proxy_cookie_* (ProxyRewrite),
// and the Server header. The proxy decides when each applies.
package respheaders

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Apply sets a response's more_set_headers (every status) and add_header
// (2xx and 3xx, unless always) of the host's and then the route's
// headers (either may be nil).
func Apply(hdr http.Header, code int, hosts, route *routecfg.Headers) {
	addOK := code >= 200 && code < 400
	for _, hh := range [...]*routecfg.Headers{hosts, route} {
		if hh == nil {
			continue
		}
		for _, x := range hh.Set {
			if x.Value == "" {
				hdr.Del(x.Name)
			} else {
				hdr.Set(x.Name, x.Value)
			}
		}
		for _, x := range hh.Add {
			if addOK || x.Always {
				hdr.Add(x.Name, x.Value)
			}
		}
	}
}

// CORS sets ingress-nginx's CORS response headers of c for req.
func CORS(hdr http.Header, c *routecfg.CORS, req *http.Request) {
	origin := "*"
	if !c.AnyOrigin {
		origin = req.Header.Get("Origin")
	}
	hdr["Access-Control-Allow-Origin"] = []string{origin}
	if c.AllowCredentials {
		hdr["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	methods, headers := c.AllowMethods, c.AllowHeaders
	if c.EchoMethods {
		methods = req.Header.Get("Access-Control-Request-Method")
	}
	if c.EchoHeaders {
		headers = req.Header.Get("Access-Control-Request-Headers")
	}
	if methods != "" {
		hdr["Access-Control-Allow-Methods"] = []string{methods}
	}
	if headers != "" {
		hdr["Access-Control-Allow-Headers"] = []string{headers}
	}
	if c.ExposeHeaders != "" {
		hdr["Access-Control-Expose-Headers"] = []string{c.ExposeHeaders}
	}
	if c.MaxAge != "" {
		hdr["Access-Control-Max-Age"] = []string{c.MaxAge}
	}
}
