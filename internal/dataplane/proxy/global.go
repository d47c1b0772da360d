package proxy

import (
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/fwdheaders"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// The controller ConfigMap's request-wide settings that are not a
// location's: global headers, header parsing, the access-log switches.

// dropUnderscoreHeaders removes request headers whose name has an
// underscore, as nginx does with underscores_in_headers off and
// ignore_invalid_headers on: no later step (auth, variables, the
// upstream) sees them.
func dropUnderscoreHeaders(hdr http.Header) {
	for k := range hdr {
		if strings.IndexByte(k, '_') >= 0 {
			delete(hdr, k)
		}
	}
}

// globallyLogged applies disable-access-log and skip-access-log-urls
// (matched against the request URI as sent, nginx's $request_uri).
func globallyLogged(g *routecfg.Global, r *http.Request) bool {
	if g == nil {
		return true
	}
	if g.DisableAccessLog {
		return false
	}
	for _, m := range g.SkipAccessLogURIs {
		if m.Match(r.RequestURI) {
			return false
		}
	}
	return true
}

// defaultBackendLogged: requests answered by ingress-nginx's default
// server (no Ingress host matched, and no catch-all path) are logged only
// with enable-access-log-for-default-backend.
func defaultBackendLogged(g *routecfg.Global) bool { return g != nil && g.AccessLogDefaultBackend }

// globalResponse applies hide-headers and allow-backend-server-header to
// an upstream response, before the response-header families run.
func globalResponse(g *routecfg.Global, st *reqState, hdr http.Header) {
	for _, name := range g.HideHeaders {
		delete(hdr, name)
	}
	// nginx passes the upstream's Server only with server_tokens off.
	if g.AllowBackendServerHeader && !g.ServerTokens {
		if v := hdr["Server"]; len(v) > 0 {
			st.rw.Server = v
		}
	}
}

// setTemplate sets a header whose value may name request variables
// (fwdheaders.SetTemplate).
func (h *Handler) setTemplate(hdr http.Header, x routecfg.TemplateHeader, st *reqState) {
	r := st.http.req
	if r == nil {
		return
	}
	v := st.vars(r)
	fwdheaders.SetTemplate(hdr, x, r, &v)
}
