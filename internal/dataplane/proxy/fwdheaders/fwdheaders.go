// Package fwdheaders makes the headers of the request moat sends
// upstream: the X-Forwarded-* family and X-Real-IP as ingress-nginx sets
// them (fresh by default, the client's own only from trusted peers),
// ssl-client-* from the client certificate, proxy-set-headers, the auth
// response headers, X-Forwarded-Prefix, upstream-vhost and the
// Connection header; and the client headers nginx ignores
// (DropUnderscore).
package fwdheaders

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/errorpage"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// Header value slices shared by every request. They are only ever
// assigned into header maps, never modified in place (len == cap, so an
// append elsewhere copies).
var (
	valHTTP  = []string{"http"}
	valHTTPS = []string{"https"}
)

// Request is what the upstream request's headers are made of.
type Request struct {
	In, Out *http.Request
	Global  *global.Settings
	Route   *routecfg.Route
	// Client, HTTPS, Host, Trusted, PP and PPPort are the resolved
	// origin (package realip).
	Client  netip.Addr
	HTTPS   bool
	Host    string
	Trusted bool
	PP      bool
	PPPort  string
	// Port is the listener's port, RequestID $req_id.
	Port, RequestID string
	// ClientCert is the client-certificate verdict, nil without client
	// authentication.
	ClientCert *certs.ClientResult
	// AuthHeaders are the auth answer's headers for the upstream;
	// StripAuthorization: basic auth consumed the credentials.
	AuthHeaders        http.Header
	StripAuthorization bool
	// Rewritten: rewrite-target changed the path.
	Rewritten bool
	// Source is the request's Ingress (error-page headers).
	Source routecfg.Source
	// Backend is the picked Gateway API backendRef's own
	// RequestHeaderModifier, applied after the route's; nil for none.
	Backend *routecfg.Headers
}

// Forwarded sets the X-Forwarded-* family, X-Real-IP, X-Request-ID and
// ssl-client-*, and removes Proxy. ReverseProxy has already removed
// hop-by-hop headers and the client's Forwarded, X-Forwarded-For, -Host
// and -Proto: ingress-nginx does not trust them by default
// (use-forwarded-headers: false), so fresh values are set here.
func (q *Request) Forwarded() {
	in, out := q.In, q.Out
	hdr := out.Header
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = in.RemoteAddr
	}
	// One backing array for the per-request values; each header gets a
	// full-capacity slice of it so an append elsewhere copies.
	port := q.Port
	if in.TLS != nil {
		// ingress-nginx's $pass_port: 443 for its HTTPS listener whatever
		// port that listens on (lua_ingress.lua), so backends that build
		// URLs from X-Forwarded-Port do not name moat's :8443.
		port = "443"
	}
	https := in.TLS != nil
	if q.PP {
		// Behind PROXY: $remote_addr after real_ip, the port the load
		// balancer was reached on, https when that is 443 (lua_ingress.lua).
		clientIP, port, https = q.Client.String(), q.PPPort, https || q.HTTPS
	}
	vals := [...]string{clientIP, in.Host, port, q.RequestID}
	hdr["X-Forwarded-For"] = vals[0:1:1]
	hdr["X-Real-Ip"] = vals[0:1:1]
	hdr["X-Forwarded-Host"] = vals[1:2:2]
	hdr["X-Forwarded-Port"] = vals[2:3:3]
	if q.RequestID != "" {
		hdr["X-Request-Id"] = vals[3:4:4]
	} else {
		delete(hdr, "X-Request-Id") // proxy_set_header with an empty value
	}
	proto := valHTTP
	if https {
		proto = valHTTPS
	}
	hdr["X-Forwarded-Proto"] = proto
	hdr["X-Forwarded-Scheme"] = proto
	hdr["X-Scheme"] = proto
	// proxy_set_header Proxy "": the httpoxy mitigation (a CGI or FastCGI
	// backend would read it as HTTP_PROXY).
	delete(hdr, "Proxy")
	setClientHeaders(hdr, q.ClientCert)
}

// Headers nginx sets upstream for a host with client authentication; they
// are removed from every other request so a client cannot forge them.
const (
	hdrClientVerify    = "Ssl-Client-Verify"
	hdrClientSubjectDN = "Ssl-Client-Subject-Dn"
	hdrClientIssuerDN  = "Ssl-Client-Issuer-Dn"
	hdrClientCert      = "Ssl-Client-Cert"
)

// Policies adjusts the proxied request after Forwarded (and the trace
// context): forwarded headers per the ConfigMap, X-Forwarded-Prefix, proxy_set_header, auth response headers,
// the Connection header and the basic-auth Authorization removal.
func (q *Request) Policies() {
	in, out := q.In, q.Out
	hdr := out.Header
	if g := q.Global; g != nil && g.UseForwardedHeaders {
		client := q.Client.String()
		if g.ComputeFullForwardedFor && q.Trusted {
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
		if q.HTTPS {
			proto = valHTTPS
		}
		hdr["X-Forwarded-Proto"], hdr["X-Forwarded-Scheme"] = proto, proto
		hdr["X-Forwarded-Host"] = []string{q.Host}
		if p := in.Header.Get("X-Forwarded-Port"); p != "" && q.Trusted {
			hdr["X-Forwarded-Port"] = []string{p}
		}
	} else if g != nil && g.EnableRealIP {
		// realip alone: $remote_addr is the client from the header; the
		// other forwarded headers stay moat's own.
		client := []string{q.Client.String()}
		hdr["X-Forwarded-For"], hdr["X-Real-Ip"] = client, client
	}
	if prior := in.Header.Get("X-Forwarded-For"); prior != "" {
		hdr["X-Original-Forwarded-For"] = []string{prior}
	}
	if g := q.Global; g != nil {
		if g.AddOriginalURIHeader {
			hdr["X-Original-Uri"] = []string{in.RequestURI}
		}
		if len(g.ProxySetHeaders) > 0 {
			v := vars.Values{BestHost: q.Host, HTTPS: q.HTTPS, Client: q.Client, Port: q.Port, RequestID: q.RequestID}
			for _, x := range g.ProxySetHeaders {
				vars.SetHeader(hdr, x, in, &v)
			}
		}
	}
	if prior := in.Header.Get("X-Forwarded-Host"); prior != "" {
		// ingress-nginx passes the client's value on (kubernetes/ingress-nginx#12999).
		hdr["X-Original-Forwarded-Host"] = []string{prior}
	}
	if q.Route == nil {
		return
	}
	if q.Backend != nil {
		defer backendHeaders(hdr, q.Backend)
	}
	if q.Route.NoEndpoints {
		// ingress-nginx's location for the default-backend annotation's
		// Service when its own has no endpoint (the
		// custom-default-backend- upstream): the error-page set with
		// X-Code 503 and no X-Original-URI.
		errorpage.Headers(hdr, in, http.StatusServiceUnavailable, q.Source, q.RequestID)
	}
	if q.Route.Policy == nil {
		return
	}
	p := q.Route.Policy
	if q.StripAuthorization {
		delete(hdr, "Authorization")
	}
	if p.ExternalAuth != nil {
		for _, name := range p.ExternalAuth.ResponseHeaders {
			k := http.CanonicalHeaderKey(name)
			if v := q.AuthHeaders[k]; len(v) > 0 {
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
	if hh.XForwardedPrefix != "" && q.Rewritten {
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

// setClientHeaders sets (or, without client authentication, removes) the
// ssl-client-* headers of the upstream request.
func setClientHeaders(hdr http.Header, res *certs.ClientResult) {
	if res == nil {
		if len(hdr) > 0 {
			delete(hdr, hdrClientVerify)
			delete(hdr, hdrClientSubjectDN)
			delete(hdr, hdrClientIssuerDN)
			delete(hdr, hdrClientCert)
		}
		return
	}
	hdr[hdrClientVerify] = []string{res.Verify}
	// nginx's proxy_set_header with an empty value sends no header.
	setOrDelete(hdr, hdrClientSubjectDN, res.SubjectDN)
	setOrDelete(hdr, hdrClientIssuerDN, res.IssuerDN)
	if res.Auth.PassCertificate {
		setOrDelete(hdr, hdrClientCert, res.EscapedCert)
	} else {
		delete(hdr, hdrClientCert)
	}
}

func setOrDelete(hdr http.Header, k, v string) {
	if v == "" {
		delete(hdr, k)
		return
	}
	hdr[k] = []string{v}
}

// DropUnderscore removes request headers whose name has an
// underscore, as nginx does with underscores_in_headers off and
// ignore_invalid_headers on: no later step (auth, variables, the
// upstream) sees them.
func DropUnderscore(hdr http.Header) {
	for k := range hdr {
		if strings.IndexByte(k, '_') >= 0 {
			delete(hdr, k)
		}
	}
}

// backendHeaders applies a backendRef's RequestHeaderModifier (an empty
// set value removes the header, as for the route's).
func backendHeaders(hdr http.Header, hh *routecfg.Headers) {
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
}
