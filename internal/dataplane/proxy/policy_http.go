package proxy

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/htpasswd"
	"github.com/moat-ingress/moat/internal/redact"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// httpReq is the per-request state of the HTTP families.
type httpReq struct {
	global *routecfg.Global
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
	// destination port, $proxy_protocol_server_port (proxyprotocol.go).
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
	a := p.Access
	if a != nil && a.Denied != "" {
		h.local(st, http.StatusServiceUnavailable)
		return true
	}
	addrOK := true
	if a != nil && (len(a.Deny) > 0 || len(a.Allow) > 0) {
		c := st.http.client
		if routecfg.ContainsAddr(a.Deny, c) || (len(a.Allow) > 0 && !routecfg.ContainsAddr(a.Allow, c)) {
			addrOK = false
		}
	}
	any := a != nil && a.SatisfyAny
	if !any && !addrOK {
		h.local(st, http.StatusForbidden)
		return true
	}
	// satisfy any: an allow rule that matched lets the request through
	// alone. An address that is merely not denied (a denylist without an
	// allowlist) does not: nginx's access module declines then, and
	// authentication still decides.
	if any && addrOK && len(a.Allow) > 0 {
		return false
	}
	if p.BasicAuth == nil && p.ExternalAuth == nil {
		if !addrOK {
			h.local(st, http.StatusForbidden)
			return true
		}
		return false
	}
	if b := p.BasicAuth; b != nil {
		if !h.basicAuthOK(b, r) {
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

func (h *Handler) basicAuthOK(b *routecfg.BasicAuth, r *http.Request) bool {
	v := r.Header.Get("Authorization")
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	user, pw, ok := strings.Cut(string(raw), ":")
	if !ok {
		return false
	}
	hash, ok := b.Users[user]
	return ok && htpasswd.Verify(hash, pw)
}

// externalAuth runs the auth sub-request. It returns true when the
// request may go on; otherwise it has answered (unless quiet, used by
// satisfy any after a failed basic auth).
func (h *Handler) externalAuth(st *reqState, r *http.Request, quiet bool) bool {
	a := st.rt.Policy.ExternalAuth
	var key [32]byte
	if a.CacheKey != nil {
		key = authCacheKey(st, r, a.CacheKey)
		if e, ok := h.http.authCache.get(key, h.now()); ok {
			st.http.authCookie = nil
			return h.authDecision(st, r, a, e.status, e.header, quiet)
		}
	}
	target := h.expand(nil, a.URL, st, r)
	method := a.Method
	if method == "" {
		method = r.Method
		if a.Keepalive != nil {
			// ingress-nginx's keepalive mode asks with a GET subrequest.
			method = http.MethodGet
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, string(target), nil)
	if err != nil {
		h.local(st, http.StatusInternalServerError)
		return false
	}
	// The original headers, no body, and ingress-nginx's auth headers.
	for k, v := range r.Header {
		req.Header[k] = v
	}
	hdr := req.Header
	hdr.Del("Content-Length")
	hdr.Del("X-Forwarded-Proto")
	hdr.Del("Connection")
	scheme := "http"
	if st.http.https {
		scheme = "https"
	}
	if k := a.Keepalive; k != nil && !k.ShareVars {
		// The Lua subrequest has variables of its own, so ingress-nginx's
		// $req_id (the client's X-Request-ID, else $request_id) is
		// evaluated again: a new ID unless the client sent one.
		hdr.Set("X-Request-Id", requestID(r))
	} else {
		hdr.Set("X-Request-Id", st.reqID)
	}
	hdr.Set("X-Original-Url", scheme+"://"+r.Host+r.RequestURI)
	hdr.Set("X-Original-Method", r.Method)
	hdr.Set("X-Sent-From", "nginx-ingress-controller")
	hdr[authHopHeader] = []string{h.authHopValue(st)}
	st.traceInject(hdr) // the auth location propagates too (opentelemetry_propagate)
	hdr.Set("X-Real-Ip", st.http.client.String())
	hdr.Set("X-Forwarded-For", st.http.client.String())
	if a.Method != "" {
		hdr.Set("X-Original-Uri", r.RequestURI)
		hdr.Set("X-Scheme", scheme)
	}
	if a.RequestRedirect.IsZero() {
		hdr.Set("X-Auth-Request-Redirect", r.RequestURI)
	} else {
		hdr.Set("X-Auth-Request-Redirect", string(h.expand(nil, a.RequestRedirect, st, r)))
	}
	for _, sh := range a.SetHeaders {
		hdr.Set(sh.Name, string(h.expand(nil, sh.Value, st, r)))
	}
	client := h.http.authClient
	var last net.Conn
	if k := a.Keepalive; k != nil {
		client = h.http.authPools.get(k)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), traceUses(k, &last)))
	}
	res, err := client.Do(req)
	if err != nil {
		h.logger.Warn("auth request failed", "url", redact.URLs(string(target)), "request_id", st.reqID, "error", err)
		if !quiet {
			h.local(st, http.StatusInternalServerError)
		}
		return false
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // drained for connection reuse
	res.Body.Close()
	if last != nil {
		last.Close() // auth-keepalive-requests reached
	}
	st.http.authCookie = res.Header["Set-Cookie"]
	if a.Keepalive != nil && res.StatusCode != http.StatusOK {
		st.http.authCookie = nil // the Lua keeps Set-Cookie of a 200 only
	}
	if a.CacheKey != nil {
		now := h.now()
		if ttl := authCacheTTL(a.CacheRules, res.StatusCode, res.Header, now); ttl > 0 {
			h.http.authCache.put(key, &authEntry{status: res.StatusCode, header: authKept(a, res.Header), expires: now.Add(ttl), lastUsed: now})
		}
	}
	return h.authDecision(st, r, a, res.StatusCode, res.Header, quiet)
}

// authKept is what a cached auth answer needs of its headers.
func authKept(a *routecfg.ExternalAuth, hdr http.Header) http.Header {
	out := make(http.Header, len(a.ResponseHeaders)+1)
	for _, name := range a.ResponseHeaders {
		if v := hdr.Values(name); len(v) > 0 {
			out[http.CanonicalHeaderKey(name)] = v
		}
	}
	if v := hdr["Www-Authenticate"]; len(v) > 0 {
		out["Www-Authenticate"] = v
	}
	return out
}

// authDecision acts on the auth answer (fresh or cached): true lets the
// request on.
func (h *Handler) authDecision(st *reqState, r *http.Request, a *routecfg.ExternalAuth, status int, hdr http.Header, quiet bool) bool {
	if a.Keepalive != nil {
		// ngx_conf_external_auth.lua: 200 passes, 401 and 403 are
		// returned as nginx's own (no WWW-Authenticate), anything else
		// is 500.
		switch {
		case status == http.StatusOK:
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			hdr = nil
		default:
			status = http.StatusInternalServerError
		}
	}
	switch {
	case status >= 200 && status < 300:
		if len(a.ResponseHeaders) > 0 {
			st.http.authHeaders = make(http.Header, len(a.ResponseHeaders))
			for _, name := range a.ResponseHeaders {
				st.http.authHeaders[http.CanonicalHeaderKey(name)] = hdr.Values(name)
			}
		}
		return true
	case quiet:
		return false
	case status == http.StatusUnauthorized && !a.Signin.IsZero():
		h.redirect(st, http.StatusFound, string(h.expand(nil, a.Signin, st, r)))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if v := hdr["Www-Authenticate"]; len(v) > 0 && status == http.StatusUnauthorized {
			st.rw.Header()["Www-Authenticate"] = v
		}
		h.local(st, status)
	default:
		h.local(st, http.StatusInternalServerError)
	}
	return false
}

// expand appends the template with the request's variables.
func (h *Handler) expand(dst []byte, t routecfg.Template, st *reqState, r *http.Request) []byte {
	for _, p := range t {
		switch p.Var {
		case "":
			dst = append(dst, p.Literal...)
		case "host":
			dst = append(dst, strings.ToLower(hostWithoutPort(r.Host))...)
		case "http_host":
			dst = append(dst, r.Host...)
		case "best_http_host":
			dst = append(dst, st.http.host...)
		case "scheme", "pass_access_scheme":
			if (p.Var == "scheme" && r.TLS != nil) || (p.Var != "scheme" && st.http.https) {
				dst = append(dst, "https"...)
			} else {
				dst = append(dst, "http"...)
			}
		case "request_uri":
			dst = append(dst, r.RequestURI...)
		case "escaped_request_uri":
			dst = append(dst, url.QueryEscape(r.RequestURI)...)
		case "uri":
			dst = append(dst, r.URL.Path...)
		case "args", "query_string":
			dst = append(dst, r.URL.RawQuery...)
		case "request_method":
			dst = append(dst, r.Method...)
		case "remote_addr":
			dst = append(dst, st.http.client.String()...)
		case "server_port":
			dst = append(dst, listenerPort(r)...)
		case "request_id":
			dst = append(dst, st.reqID...)
		case "http_user_agent":
			dst = append(dst, r.Header.Get("User-Agent")...)
		case "http_cookie":
			dst = append(dst, r.Header.Get("Cookie")...)
		case "http_authorization":
			dst = append(dst, r.Header.Get("Authorization")...)
		case "http_x_forwarded_for":
			dst = append(dst, r.Header.Get("X-Forwarded-For")...)
		}
	}
	return dst
}

// applyEarly runs what nginx does in its rewrite phases, before the HTTPS
// redirect: the forwarded-header trust, the global block lists,
// more_set_input_headers, host redirects (www, app-root), return
// redirects and CORS (preflights are answered here). True: answered.
func (h *Handler) applyEarly(st *reqState, r *http.Request, path string) bool {
	hs := &st.http
	hs.req = r
	hs.https = r.TLS != nil
	hs.host = r.Host
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	if err == nil {
		hs.client = addr.Addr().Unmap()
	}
	g := hs.global
	if pc := proxiedConn(r); pc != nil && g != nil && hs.proxyProtocol(r, pc, g) {
		// the client address came from the PROXY header (proxyprotocol.go)
	} else if g != nil && (g.UseForwardedHeaders || g.EnableRealIP) {
		hs.trusted = routecfg.ContainsAddr(g.TrustedProxies, hs.client)
		if hs.trusted && g.UseForwardedHeaders {
			hs.trustForwarded(r)
		}
		if hs.trusted {
			hs.client = realIP(r.Header.Get(g.ForwardedForHeader), hs.client, g.TrustedProxies)
		}
	}
	if g != nil && (len(g.BlockCIDRs) > 0 || len(g.BlockUserAgents) > 0 || len(g.BlockReferers) > 0) {
		blocked := routecfg.ContainsAddr(g.BlockCIDRs, hs.client)
		ua := r.Header.Get("User-Agent")
		for _, m := range g.BlockUserAgents {
			blocked = blocked || m.Match(ua)
		}
		ref := r.Header.Get("Referer")
		for _, m := range g.BlockReferers {
			blocked = blocked || m.Match(ref)
		}
		if blocked {
			h.local(st, http.StatusForbidden)
			return true
		}
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
		hp := vh.Policy
		if hp.RedirectHost != "" {
			uri := r.RequestURI
			if strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
				uri = uri[:len(uri)-1]
			}
			code := hp.RedirectCode
			if code == 0 {
				code = http.StatusPermanentRedirect
			}
			h.redirect(st, code, h.scheme(st)+"://"+hp.RedirectHost+h.redirectPortSuffix()+uri)
			return true
		}
		if hp.AppRoot != "" && path == "/" {
			h.redirect(st, http.StatusFound, h.scheme(st)+"://"+r.Host+hp.AppRoot)
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
		origin := r.Header.Get("Origin")
		if c.AnyOrigin || (origin != "" && c.Allows(origin)) {
			hs.cors = true
			if r.Method == http.MethodOptions {
				hdr := st.rw.Header()
				h.corsHeaders(st, hdr)
				hdr["Content-Type"] = []string{"text/plain charset=UTF-8"}
				hdr["Content-Length"] = valZero
				code := http.StatusNoContent
				if c.PreflightStatus != 0 {
					code = c.PreflightStatus
				}
				st.rw.WriteHeader(code)
				return true
			}
		} else if c.PreflightStatus != 0 && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// Gateway API: a preflight from an origin not allowed is
			// answered without CORS headers, not passed to the backend
			// (ingress-nginx passes it on).
			st.rw.Header()["Content-Length"] = valZero
			st.rw.WriteHeader(c.PreflightStatus)
			return true
		}
	}
	return false
}

// trustForwarded takes the scheme and host from X-Forwarded-Proto and
// -Host of a trusted peer.
func (hs *httpReq) trustForwarded(r *http.Request) {
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		hs.https = strings.EqualFold(v, "https")
	}
	if v := r.Header.Get("X-Forwarded-Host"); v != "" {
		hs.host, _, _ = strings.Cut(v, ",")
	}
}

func (h *Handler) scheme(st *reqState) string {
	if st.http.https {
		return "https"
	}
	return "http"
}

func (h *Handler) redirectPortSuffix() string {
	if h.redirectPort == "" {
		return ""
	}
	return ":" + h.redirectPort
}

// realIP is nginx's real_ip with real_ip_recursive on: the rightmost
// address of the header that is not a trusted proxy; if all are trusted,
// the leftmost.
func realIP(header string, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	if header == "" {
		return peer
	}
	parts := strings.Split(header, ",")
	out := peer
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			return out
		}
		out = a.Unmap()
		if !routecfg.ContainsAddr(trusted, out) {
			return out
		}
	}
	return out
}

// noTLSRedirect: no-tls-redirect-locations (ACME challenges by default).
// As ingress-nginx's isLocationInLocationList, the matched route's path
// is tested, not the request's: with /plain listed, /plainly served by
// the "/" route is still redirected.
func (h *Handler) noTLSRedirect(st *reqState, path string) bool {
	g := st.http.global
	if g == nil {
		return isACMEChallenge(path)
	}
	if st.rt != nil {
		path = st.rt.Path
	}
	for _, p := range g.NoTLSRedirectLocations {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// redirectToHTTPS is ingress-nginx's redirect_to_https with the
// http-redirect-code, preserve-trailing-slash and use-port-in-redirects.
func (h *Handler) redirectToHTTPS(st *reqState, r *http.Request) {
	var rd *routecfg.Redirect
	if st.rt != nil && st.rt.Policy != nil {
		rd = st.rt.Policy.Redirect
	}
	g := st.http.global
	if rd == nil && (g == nil || g.HTTPRedirectCode == 0 || g.HTTPRedirectCode == http.StatusPermanentRedirect) && st.http.host == r.Host {
		h.redirectHTTPS(st, r)
		return
	}
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	if (rd == nil || !rd.PreserveTrailingSlash) && strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
		uri = uri[:len(uri)-1]
	}
	port := h.redirectPortSuffix()
	if rd != nil && rd.UsePort && port == "" {
		port = ":443"
	}
	code := http.StatusPermanentRedirect
	if g != nil && g.HTTPRedirectCode != 0 {
		code = g.HTTPRedirectCode
	}
	h.redirect(st, code, "https://"+hostWithoutPort(st.http.host)+port+uri)
}

// corsHeaders sets ingress-nginx's CORS response headers.
func (h *Handler) corsHeaders(st *reqState, hdr http.Header) {
	c := st.rt.Policy.CORS
	origin := "*"
	if !c.AnyOrigin {
		origin = st.http.req.Header.Get("Origin")
	}
	hdr["Access-Control-Allow-Origin"] = []string{origin}
	if c.AllowCredentials {
		hdr["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	req := st.http.req
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

// decorate applies the response-header families to a response's headers:
// CORS, more_set_headers (every status), add_header (2xx/3xx unless
// always), the auth Set-Cookie and the Server header.
func (h *Handler) decorate(st *reqState, hdr http.Header, code int) {
	if st.rw.server != nil {
		// Replaces the upstream's, as nginx's default proxy_hide_header
		// Server does; set here too for 101 responses, which bypass
		// responseWriter.
		hdr["Server"] = st.rw.server
	}
	if g := st.http.global; g != nil {
		for _, x := range g.AddHeaders {
			h.setTemplate(hdr, x, st)
		}
	}
	var vhh, rth *routecfg.Headers
	if st.vh != nil && st.vh.Policy != nil {
		vhh = st.vh.Policy.Headers
	}
	var p *routecfg.RoutePolicy
	if st.rt != nil {
		p = st.rt.Policy
	}
	if p == nil && vhh == nil {
		return
	}
	if p != nil {
		rth = p.Headers
		if p.CORS != nil && st.http.cors {
			h.corsHeaders(st, hdr)
		}
	}
	addOK := code >= 200 && code < 400
	for _, hh := range [...]*routecfg.Headers{vhh, rth} {
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
	if p != nil && p.ExternalAuth != nil && len(st.http.authCookie) > 0 && (addOK || p.ExternalAuth.AlwaysSetCookie) {
		hdr["Set-Cookie"] = append(hdr["Set-Cookie"], st.http.authCookie...)
	}
}

// httpRequestOut adjusts the proxied request: forwarded headers per the
// ConfigMap, X-Forwarded-Prefix, proxy_set_header, auth response headers,
// the Connection header and the basic-auth Authorization removal.
func (h *Handler) httpRequestOut(st *reqState, in, out *http.Request) {
	hs := &st.http
	hdr := out.Header
	if g := hs.global; g != nil && g.UseForwardedHeaders {
		client := hs.client.String()
		if g.ComputeFullForwardedFor && hs.trusted {
			peer := in.RemoteAddr
			if ap, err := netip.ParseAddrPort(peer); err == nil {
				peer = ap.Addr().Unmap().String()
			}
			if prior := in.Header.Get("X-Forwarded-For"); prior != "" {
				hdr["X-Forwarded-For"] = []string{prior + ", " + peer}
			} else {
				hdr["X-Forwarded-For"] = []string{peer}
			}
		} else {
			hdr["X-Forwarded-For"] = []string{client}
		}
		hdr["X-Real-Ip"] = []string{client}
		proto := valHTTP
		if hs.https {
			proto = valHTTPS
		}
		hdr["X-Forwarded-Proto"], hdr["X-Forwarded-Scheme"] = proto, proto
		hdr["X-Forwarded-Host"] = []string{hs.host}
		if p := in.Header.Get("X-Forwarded-Port"); p != "" && hs.trusted {
			hdr["X-Forwarded-Port"] = []string{p}
		}
	} else if g != nil && g.EnableRealIP {
		// realip alone: $remote_addr is the client from the header; the
		// other forwarded headers stay moat's own.
		client := []string{hs.client.String()}
		hdr["X-Forwarded-For"], hdr["X-Real-Ip"] = client, client
	}
	if prior := in.Header.Get("X-Forwarded-For"); prior != "" {
		hdr["X-Original-Forwarded-For"] = []string{prior}
	}
	if g := hs.global; g != nil {
		if g.AddOriginalURIHeader {
			hdr["X-Original-Uri"] = []string{in.RequestURI}
		}
		for _, x := range g.ProxySetHeaders {
			h.setTemplate(hdr, x, st)
		}
	}
	if prior := in.Header.Get("X-Forwarded-Host"); prior != "" {
		// ingress-nginx passes the client's value on (kubernetes/ingress-nginx#12999).
		hdr["X-Original-Forwarded-Host"] = []string{prior}
	}
	if st.rt == nil {
		return
	}
	if st.rt.NoEndpoints {
		noEndpointsHeaders(st, in, hdr)
	}
	if st.beHeaders != nil {
		defer backendHeaders(hdr, st.beHeaders) // after the route's
	}
	if st.rt.Policy == nil {
		return
	}
	p := st.rt.Policy
	if hs.stripAuthorization {
		delete(hdr, "Authorization")
	}
	if p.ExternalAuth != nil {
		for _, name := range p.ExternalAuth.ResponseHeaders {
			k := http.CanonicalHeaderKey(name)
			if v := hs.authHeaders[k]; len(v) > 0 {
				hdr[k] = v
			} else {
				delete(hdr, k)
			}
		}
	}
	hh := p.Headers
	if hh == nil {
		return
	}
	if hh.XForwardedPrefix != "" && st.rewritten {
		hdr["X-Forwarded-Prefix"] = []string{hh.XForwardedPrefix}
	}
	for _, x := range hh.Upstream {
		if x.Value == "" {
			hdr.Del(x.Name)
		} else {
			hdr.Set(x.Name, x.Value)
		}
	}
	for _, x := range hh.UpstreamAdd {
		hdr.Add(x.Name, x.Value)
	}
	if hh.UpstreamHost != "" {
		out.Host = hh.UpstreamHost
	}
	if hh.Connection != "" && hdr.Get("Upgrade") == "" {
		hdr["Connection"] = []string{hh.Connection}
		if strings.EqualFold(hh.Connection, "close") {
			out.Close = true
		}
	}
	if hh.HTTP10 {
		out.Close = true
	}
}

// httpHandlerState is the Handler's share of the HTTP families.
type httpHandlerState struct {
	authClient *http.Client
	// authToken marks moat's own auth sub-requests (client.go).
	authToken string
	// authCache is auth-cache-key's cache, kept across swaps.
	authCache authCache
	// authPools are the auth-keepalive connection pools.
	authPools authClients
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
