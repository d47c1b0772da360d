// Package rewrite is the arithmetic of where a request goes: the path
// as nginx normalises it before matching, rewrite-target, Gateway API
// path modifiers, the Locations of the HTTPS, host (www, app-root) and
// RequestRedirect redirects, and Host-to-SNI comparison. It computes;
// the proxy answers.
package rewrite

import (
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// CleanPath normalises a decoded request path like nginx does before
// location matching: "//" merged, "." and ".." resolved, a trailing slash
// kept. Without this, "/public/../admin" could match a "/public" route
// while the upstream serves /admin. The common clean path is returned
// as is, without allocating.
func CleanPath(p string) string {
	if p == "" || p[0] != '/' {
		return p // "*" (OPTIONS *) or empty: matches nothing but "/" routes
	}
	if !needsClean(p) {
		return p
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c
}

func needsClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		switch {
		case len(rest) == 0:
		case rest[0] == '/':
			return true
		case rest[0] == '.':
			// "/." or "/.." as a whole segment.
			if len(rest) == 1 || rest[1] == '/' {
				return true
			}
			if rest[1] == '.' && (len(rest) == 2 || rest[2] == '/') {
				return true
			}
		}
	}
	return false
}

// Target implements nginx's `rewrite "(?i)<path>" <target> break;` for
// rw on the request path p: the new path and query, ok false when the
// pattern does not match.
//
// nginx rules for the query: a target without '?' keeps the original
// arguments; a target with '?' puts the original arguments after its own,
// joined by '&'; a target ending in '?' drops them.
func Target(rw *routecfg.Rewrite, r *http.Request, p string) (path, query string, ok bool) {
	if rw.Pattern == nil {
		return "", "", false
	}
	m := rw.Pattern.FindStringSubmatchIndex(p)
	if m == nil {
		return "", "", false
	}
	target := rw.Target
	tq := strings.IndexByte(target, '?')
	tpath := target
	if tq >= 0 {
		tpath = target[:tq]
	}
	newPath := expand(nil, tpath, p, m)
	query = r.URL.RawQuery
	if tq >= 0 {
		tquery := target[tq+1:]
		if tquery == "" {
			query = ""
		} else {
			q := expand(nil, tquery, p, m)
			if query != "" {
				q = append(append(q, '&'), query...)
			}
			query = string(q)
		}
	}
	return string(newPath), query, true
}

// expand appends template to dst with $1..$9 replaced by the submatches of
// src given by m; a group that is absent or did not match expands to "".
// Any other '$' is literal (nginx variables are not supported).
func expand(dst []byte, template, src string, m []int) []byte {
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c == '$' && i+1 < len(template) && template[i+1] >= '1' && template[i+1] <= '9' {
			g := int(template[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				dst = append(dst, src[m[2*g]:m[2*g+1]]...)
			}
			i++
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// ModifyPath applies a ReplaceFullPath or ReplacePrefixMatch to path. The
// prefix is matched element-wise, so what follows it is "" or starts with
// '/'; a replacement ending in '/' does not double it.
func ModifyPath(m *routecfg.PathModifier, path string) string {
	if !m.Prefix {
		return m.Value
	}
	rest := path
	if m.Match != "/" {
		rest = strings.TrimPrefix(path, m.Match)
	}
	v := strings.TrimRight(m.Value, "/")
	switch {
	case rest == "" && v == "":
		return "/"
	case rest == "":
		return v
	case rest[0] != '/':
		return v + "/" + rest
	}
	return v + rest
}

// WantsHTTPS is ingress-nginx's redirect_to_https for a plain-HTTP request
// (lua_ingress.lua): force-ssl-redirect always, ssl-redirect only when the
// host has TLS; unmatched paths follow the host's setting.
func WantsHTTPS(vh *routecfg.VirtualHost, rt *routecfg.Route) bool {
	if rt != nil {
		return rt.ForceSSLRedirect || (vh != nil && vh.TLS && rt.SSLRedirect)
	}
	return vh != nil && vh.RedirectHTTPS
}

// acmePrefix is ingress-nginx's default no-tls-redirect-locations, so
// HTTP-01 challenges are answered over plain HTTP.
const acmePrefix = "/.well-known/acme-challenge/"

func isACMEChallenge(path string) bool {
	return len(path) >= len(acmePrefix) && path[:len(acmePrefix)] == acmePrefix
}

// NoTLSRedirect: no-tls-redirect-locations (ACME challenges by default).
// As ingress-nginx's isLocationInLocationList, the matched route's path
// is tested, not the request's: with /plain listed, /plainly served by
// the "/" route is still redirected.
func NoTLSRedirect(g *global.Settings, rt *routecfg.Route, path string) bool {
	if g == nil {
		return isACMEChallenge(path)
	}
	if rt != nil {
		path = rt.Path
	}
	for _, p := range g.NoTLSRedirectLocations {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// ToHTTPS is ingress-nginx's redirect_to_https with the
// http-redirect-code, preserve-trailing-slash and use-port-in-redirects: the
// status and Location; rd is the route's redirect policy (nil: none),
// redirectPort the HTTPS port to name ("": 443).
func ToHTTPS(r *http.Request, rd *routecfg.Redirect, g *global.Settings, bestHost, redirectPort string) (code int, loc string) {
	if rd == nil && (g == nil || g.HTTPRedirectCode == 0 || g.HTTPRedirectCode == http.StatusPermanentRedirect) && bestHost == r.Host {
		return http.StatusPermanentRedirect, httpsURL(r, redirectPort)
	}
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	if (rd == nil || !rd.PreserveTrailingSlash) && strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
		uri = uri[:len(uri)-1]
	}
	port := ""
	if redirectPort != "" {
		port = ":" + redirectPort
	}
	if rd != nil && rd.UsePort && port == "" {
		port = ":443"
	}
	code = http.StatusPermanentRedirect
	if g != nil && g.HTTPRedirectCode != 0 {
		code = g.HTTPRedirectCode
	}
	return code, "https://" + vars.HostWithoutPort(bestHost) + port + uri
}

// httpsURL is the HTTPS URL of the request for the default redirect, as
// ingress-nginx's redirect_to_https: the host without port, the request
// URI with one trailing slash dropped ("GET /" → "https://host"), and the
// port only when it is not 443.
//
// ingress-nginx drops a trailing '/' at the end of the whole request URI,
// query included; here it is dropped only from a URI without query, so a
// query ending in '/' ("?next=/") is not corrupted.
func httpsURL(r *http.Request, redirectPort string) string {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		// Absolute-form request target (or a handler test without one).
		uri = r.URL.RequestURI()
	}
	if strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
		uri = uri[:len(uri)-1]
	}
	host := vars.HostWithoutPort(r.Host)
	n := len("https://") + len(host) + len(uri)
	if redirectPort != "" {
		n += 1 + len(redirectPort)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("https://")
	b.WriteString(host)
	if redirectPort != "" {
		b.WriteByte(':')
		b.WriteString(redirectPort)
	}
	b.WriteString(uri)
	return b.String()
}

// URLRedirect is the Location of Gateway API's RequestRedirect: the
// request URL (path as matched, port the listener's) with the filter's
// parts replaced; the query is kept.
func URLRedirect(r *http.Request, listenerPort, path string, rd *routecfg.URLRedirect) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	port := listenerPort
	if rd.Scheme != "" {
		scheme = rd.Scheme
		port = ""
	}
	if rd.Port != 0 {
		port = strconv.Itoa(rd.Port)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	host := rd.Host
	if host == "" {
		host = hostOnly(r.Host)
	}
	p := path
	if m := rd.Path; m != nil {
		p = ModifyPath(m, path)
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.IndexByte(host, ':') >= 0 { // an IPv6 literal
		b.WriteByte('[')
		b.WriteString(host)
		b.WriteByte(']')
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(p)
	if r.URL.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(r.URL.RawQuery)
	}
	return b.String()
}

// hostOnly strips the port from a Host header, and the brackets of an
// IPv6 literal.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// SameHost compares a Host header (maybe with a port) with an SNI name,
// ignoring case and one trailing dot.
func SameHost(host, sni string) bool {
	if len(host) > 0 && host[0] == '[' {
		if end := strings.IndexByte(host, ']'); end > 0 {
			host = host[1:end]
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 && strings.IndexByte(host[i+1:], ':') < 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	sni = strings.TrimSuffix(sni, ".")
	return strings.EqualFold(host, sni)
}

// HostRedirect is the host's redirect, if it has one for the request on
// path: from-to-www-redirect (RedirectHost) or app-root, with scheme the
// request's and redirectPort the HTTPS port to name ("": none).
func HostRedirect(hp *routecfg.HostPolicy, r *http.Request, path, scheme, redirectPort string) (code int, loc string, ok bool) {
	if hp.RedirectHost != "" {
		uri := r.RequestURI
		if strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
			uri = uri[:len(uri)-1]
		}
		code := hp.RedirectCode
		if code == 0 {
			code = http.StatusPermanentRedirect
		}
		port := ""
		if redirectPort != "" {
			port = ":" + redirectPort
		}
		return code, scheme + "://" + hp.RedirectHost + port + uri, true
	}
	if hp.AppRoot != "" && path == "/" {
		return http.StatusFound, scheme + "://" + r.Host + hp.AppRoot, true
	}
	return 0, "", false
}
