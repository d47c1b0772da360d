package proxy

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/access"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/extauth"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/realip"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/respheaders"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/rewrite"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// httpReq is the per-request state of the HTTP families.
type httpReq struct {
	global *global.Settings
	// authDepth is how deep in moat's own auth sub-requests this request
	// is (0: a client's request; client.go).
	authDepth int
	// https is the scheme the client used: the connection's, or a trusted
	// X-Forwarded-Proto (ingress-nginx's $pass_access_scheme).
	https bool
	// host is $best_http_host: Host, or a trusted X-Forwarded-Host.
	host string
	// client is the client address ($remote_addr after real_ip).
	client netip.Addr
	// trusted: the peer may set forwarded headers.
	trusted bool
	// pp: the connection's PROXY header gave addresses; ppPort is its
	// destination port, $proxy_protocol_server_port (package realip).
	pp     bool
	ppPort string
	// cors: the Origin is allowed; the response gets the CORS headers.
	cors bool
	// authHeaders are copied from the auth response to the upstream
	// request; authCookie is its Set-Cookie.
	authHeaders http.Header
	authCookie  []string
	// stripAuthorization: basic auth consumed the credentials.
	stripAuthorization bool
	req                *http.Request
	// defBackend is the configuration's --default-backend-service route;
	// unmatched: it serves this request, which no route matched.
	defBackend *routecfg.Route
	unmatched  bool
}

// applyHTTPPolicies runs the access-phase families after the HTTPS
// redirect: source addresses, basic auth, external auth; true: answered.
func (h *Handler) applyHTTPPolicies(st *reqState, r *http.Request) bool {
	p := st.rt.Policy
	status, pass, addrOK := access.Addresses(p.Access, st.http.client)
	if status != 0 {
		h.local(st, status)
		return true
	}
	if pass {
		return false
	}
	any := p.Access != nil && p.Access.SatisfyAny
	if p.BasicAuth == nil && p.ExternalAuth == nil {
		if !addrOK {
			h.local(st, http.StatusForbidden)
			return true
		}
		return false
	}
	if b := p.BasicAuth; b != nil {
		if !extauth.BasicOK(b, r) {
			if any && p.ExternalAuth != nil && h.externalAuth(st, r, true) {
				return false
			}
			st.rw.Header()["Www-Authenticate"] = []string{`Basic realm="` + strings.ReplaceAll(b.Realm, `"`, ``) + `"`}
			h.local(st, http.StatusUnauthorized)
			return true
		}
		st.http.stripAuthorization = true
		if any {
			return false
		}
	}
	if p.ExternalAuth != nil {
		return !h.externalAuth(st, r, false)
	}
	return false
}

// vars are the request's variables beyond the request itself.
func (st *reqState) vars(r *http.Request) vars.Values {
	return vars.Values{BestHost: st.http.host, HTTPS: st.http.https, Client: st.http.client, Port: st.listenerPort(r), RequestID: st.reqID}
}

// expand appends the template with the request's variables.
func (h *Handler) expand(dst []byte, t vartemplate.Template, st *reqState, r *http.Request) []byte {
	v := st.vars(r)
	return vars.Expand(dst, t, r, &v)
}

// externalAuth runs the auth sub-request (package extauth). It returns
// true when the request may go on; otherwise it has answered (unless
// quiet, used by satisfy any after a failed basic auth).
func (h *Handler) externalAuth(st *reqState, r *http.Request, quiet bool) bool {
	v := st.vars(r)
	q := extauth.Request{R: r, Vars: &v, VHost: st.vh, Route: st.rt, Depth: st.http.authDepth, Inject: st.traceInject}
	res := h.auth.Check(st.rt.Policy.ExternalAuth, &q, quiet)
	st.http.authCookie = res.Cookie
	if res.Headers != nil {
		st.http.authHeaders = res.Headers
	}
	switch {
	case res.OK:
		return true
	case res.Status == 0:
		// quiet: not answered
	case res.Redirect != "":
		h.redirect(st, res.Status, res.Redirect)
	default:
		if res.Authenticate != nil {
			st.rw.Header()["Www-Authenticate"] = res.Authenticate
		}
		h.local(st, res.Status)
	}
	return false
}

// applyEarly runs what nginx does in its rewrite phases, before the HTTPS
// redirect: the forwarded-header trust, the global block lists,
// more_set_input_headers, host redirects (www, app-root), return
// redirects and CORS (preflights are answered here). True: answered.
func (h *Handler) applyEarly(st *reqState, r *http.Request, path string) bool {
	hs := &st.http
	hs.req = r
	g := hs.global
	c := realip.Resolve(r, g, st.proxiedConn())
	hs.client, hs.https, hs.host, hs.trusted, hs.pp, hs.ppPort = c.Addr, c.HTTPS, c.Host, c.Trusted, c.PP, c.PPPort
	if access.Blocked(g, hs.client, r) {
		h.local(st, http.StatusForbidden)
		return true
	}
	var p *routecfg.RoutePolicy
	if st.rt != nil {
		p = st.rt.Policy
	}
	if p != nil && p.Headers != nil {
		for _, hd := range p.Headers.Input {
			if hd.Value == "" {
				r.Header.Del(hd.Name)
			} else {
				r.Header.Set(hd.Name, hd.Value)
			}
		}
	}
	if vh := st.vh; vh != nil && vh.Policy != nil {
		scheme := "http"
		if hs.https {
			scheme = "https"
		}
		if code, loc, ok := rewrite.HostRedirect(vh.Policy, r, path, scheme, h.redirectPort); ok {
			h.redirect(st, code, loc)
			return true
		}
	}
	if p == nil {
		return false
	}
	if rd := p.Redirect; rd != nil && rd.URL != "" {
		h.redirect(st, rd.Code, string(h.expand(nil, rd.Location, st, r)))
		return true
	}
	if c := p.CORS; c != nil {
		var code int
		if hs.cors, code = respheaders.Request(st.rw.Header(), c, r); code != 0 {
			st.rw.WriteHeader(code)
			return true
		}
	}
	return false
}

// decorate applies the response-header families to a response's headers
// (package respheaders).
func (h *Handler) decorate(st *reqState, hdr http.Header, code int) {
	d := respheaders.Response{Server: st.rw.Server, Global: st.http.global, VHost: st.vh, Route: st.rt,
		Req: st.http.req, CORS: st.http.cors, AuthCookie: st.http.authCookie}
	if g := st.http.global; g != nil && len(g.AddHeaders) > 0 && st.http.req != nil {
		v := st.vars(st.http.req)
		d.Decorate(hdr, code, &v)
		return
	}
	d.Decorate(hdr, code, nil)
}

// applyRewrite implements rewrite-target (package rewrite). It reports
// whether it answered the request (a redirect); otherwise, on a match, it
// sets the upstream path and query in st.
func (h *Handler) applyRewrite(st *reqState, r *http.Request, p string) bool {
	path, query, ok := rewrite.Target(st.rt.Rewrite, r, p)
	if !ok {
		return false
	}
	if st.rt.Rewrite.Redirect {
		loc := path
		if query != "" {
			loc += "?" + query
		}
		h.logRewrite(st, r, p, loc)
		// nginx answers 302 for a rewrite to an absolute URL.
		h.redirect(st, http.StatusFound, loc)
		return true
	}
	st.rewritten = true
	st.path = path
	if st.path == "" {
		st.path = "/"
	}
	st.rawQuery = query
	h.logRewrite(st, r, p, st.path)
	return false
}

// redirectToHTTPS answers ingress-nginx's redirect_to_https (package
// rewrite).
func (h *Handler) redirectToHTTPS(st *reqState, r *http.Request) {
	var rd *routecfg.Redirect
	if st.rt != nil && st.rt.Policy != nil {
		rd = st.rt.Policy.Redirect
	}
	code, loc := rewrite.ToHTTPS(r, rd, st.http.global, st.http.host, h.redirectPort)
	h.redirect(st, code, loc)
}

// logRewrite is enable-rewrite-log: nginx's rewrite_log notice for a
// rewrite that applied, as one info line with the path before and after.
func (h *Handler) logRewrite(st *reqState, r *http.Request, from, to string) {
	if p := st.rt.Policy; p == nil || p.Logging == nil || !p.Logging.RewriteLog {
		return
	}
	h.logger.Info("rewrite", "host", r.Host, "pattern", st.rt.Rewrite.Pattern.String(), "path", from, "rewritten", to, "request_id", st.reqID)
}

// accessLogged reports whether the route keeps its access log.
func accessLogged(st *reqState) bool {
	return st.rt == nil || st.rt.Policy == nil || st.rt.Policy.Logging == nil || !st.rt.Policy.Logging.NoAccessLog
}
