// Package respheaders shapes the headers of the response to the client:
// more_set_headers and add_header, global add-headers, CORS (and its
// preflight answer), the auth answer's Set-Cookie, proxy_redirect and
// proxy_cookie_* (ProxyRewrite), the Server header, and gRPC
// trailers-only responses. The proxy decides when each applies; what it
// needs of the request comes in a Response.
package respheaders

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
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

// Preflight sets the answer to a CORS preflight (OPTIONS) of req on hdr
// and returns its status.
func Preflight(hdr http.Header, c *routecfg.CORS, req *http.Request) int {
	CORS(hdr, c, req)
	hdr["Content-Type"] = []string{"text/plain charset=UTF-8"}
	hdr["Content-Length"] = []string{"0"}
	if c.PreflightStatus != 0 {
		return c.PreflightStatus
	}
	return http.StatusNoContent
}

// Request decides a request under a route's CORS policy c: allowed
// reports whether its Origin is allowed (the response then gets the CORS
// headers), and a non-zero status that moat answers it itself, with hdr
// set: a preflight (OPTIONS) from an allowed origin, or, under Gateway
// API's CORS filter (PreflightStatus set), a preflight from an origin that
// is not, without CORS headers (ingress-nginx passes that one on).
func Request(hdr http.Header, c *routecfg.CORS, req *http.Request) (allowed bool, status int) {
	origin := req.Header.Get("Origin")
	switch {
	case c.AnyOrigin || (origin != "" && c.Allows(origin)):
		if req.Method == http.MethodOptions {
			return true, Preflight(hdr, c, req)
		}
		return true, 0
	case c.PreflightStatus != 0 && req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "":
		hdr["Content-Length"] = []string{"0"}
		return false, c.PreflightStatus
	}
	return false, 0
}

// Response is what a response's decoration is made of.
type Response struct {
	// Server is the Server header (nil: left alone).
	Server []string
	Global *global.Settings
	VHost  *routecfg.VirtualHost
	Route  *routecfg.Route
	// Req is the client's request (CORS, templates).
	Req *http.Request
	// CORS: the Origin is allowed. AuthCookie is the auth answer's
	// Set-Cookie.
	CORS       bool
	AuthCookie []string
}

// Decorate applies the response-header families to a response's headers:
// CORS, more_set_headers (every status), add_header (2xx/3xx unless
// always), global add-headers (with the request's variables v; nil when
// none are needed), the auth Set-Cookie and the Server header.
func (d *Response) Decorate(hdr http.Header, code int, v *vars.Values) {
	if d.Server != nil {
		// Replaces the upstream's, as nginx's default proxy_hide_header
		// Server does; set here too for 101 responses, which bypass
		// respwriter.Writer.
		hdr["Server"] = d.Server
	}
	if g := d.Global; g != nil && v != nil {
		for _, x := range g.AddHeaders {
			vars.SetHeader(hdr, x, d.Req, v)
		}
	}
	var vhh, rth *routecfg.Headers
	if d.VHost != nil && d.VHost.Policy != nil {
		vhh = d.VHost.Policy.Headers
	}
	var p *routecfg.RoutePolicy
	if d.Route != nil {
		p = d.Route.Policy
	}
	if p == nil && vhh == nil {
		return
	}
	if p != nil {
		rth = p.Headers
		if p.CORS != nil && d.CORS {
			CORS(hdr, p.CORS, d.Req)
		}
	}
	addOK := code >= 200 && code < 400
	Apply(hdr, code, vhh, rth)
	if p != nil && p.ExternalAuth != nil && len(d.AuthCookie) > 0 && (addOK || p.ExternalAuth.AlwaysSetCookie) {
		hdr["Set-Cookie"] = append(hdr["Set-Cookie"], d.AuthCookie...)
	}
}
