package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/fwdheaders"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/respheaders"
)

// rewriteOut is ReverseProxy's Rewrite hook. ReverseProxy has already
// removed hop-by-hop headers and the client's Forwarded, X-Forwarded-For,
// -Host and -Proto: ingress-nginx does not trust them by default
// (use-forwarded-headers: false), so fresh values are set here.
func (h *Handler) rewriteOut(st *reqState, pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.URL.Scheme = st.up.Scheme(in.TLS != nil)
	out.URL.Host = st.up.EP.Address
	out.Host = in.Host // the upstream sees the client's Host, like nginx's proxy_set_header Host $best_http_host
	if st.rewritten {
		out.URL.Path, out.URL.RawPath = st.path, ""
		out.URL.RawQuery = st.rawQuery
	}

	q := fwdheaders.Request{In: in, Out: out, Global: st.http.global, Route: st.rt, Client: st.http.client, HTTPS: st.http.https,
		Host: st.http.host, Trusted: st.http.trusted, PP: st.http.pp, PPPort: st.http.ppPort, Port: st.port, RequestID: st.reqID,
		ClientCert: st.client, AuthHeaders: st.http.authHeaders, StripAuthorization: st.http.stripAuthorization,
		Rewritten: st.rewritten, Source: st.source(), Backend: st.beHeaders}
	q.Forwarded()
	st.traceInject(out.Header)
	q.Policies()
}

// modifyResponse runs once the upstream answered (including 101).
func (h *Handler) modifyResponse(st *reqState, res *http.Response) error {
	h.upstreams.MarkSucceeded(st.up.EP)
	respheaders.GRPCTrailersOnly(res)
	if res.StatusCode == http.StatusSwitchingProtocols {
		// The upgraded response is written on the hijacked connection,
		// past our ResponseWriter; record it for the access log here.
		st.rw.Status = http.StatusSwitchingProtocols
	}
	if g := st.http.global; g != nil {
		globalResponse(g, st, res.Header)
	}
	if st.rt != nil && st.rt.Policy != nil && st.rt.Policy.ProxyRewrite != nil {
		respheaders.ProxyRewrite(st.rt.Policy.ProxyRewrite, res.Header)
	}
	if st.waf.Active() {
		h.wafResponse(st, res)
	}
	if st.rt != nil && st.rt.Policy != nil && st.rt.Policy.ErrorPages != nil {
		h.interceptError(st, res)
	}
	h.decorate(st, res.Header, res.StatusCode)
	if st.hsts != "" {
		// Replace, not add: exactly one HSTS header (ingress-nginx e2e
		// "overriding what's set from the upstream").
		res.Header["Strict-Transport-Security"] = []string{st.hsts}
	}
	h.readAhead(st, res)
	return nil
}

// errorHandler maps a failed round trip to a status like nginx: 499 when
// the client went away, 504 on timeouts (connect or response header),
// 502 otherwise. Connect failures mark the endpoint for passive health.
func (h *Handler) errorHandler(st *reqState, w http.ResponseWriter, r *http.Request, err error) {
	if clientBodyErr(st) {
		// The client's fault, not the upstream's. (A failed read of the
		// connection also cancels the request's context in net/http, so
		// this comes before the 499 case.)
		h.clientBodyFailed(st, r)
		return
	}
	clientGone := errors.Is(r.Context().Err(), context.Canceled)
	status := st.up.Failed(err, r, clientGone, st.servedSource())
	if clientGone {
		// nginx's non-standard 499 "client closed request"; nothing is
		// sent, the client is gone.
		st.rw.Status = status
		return
	}
	if st.rw.WroteHeader || st.rw.Hijacked {
		// Too late to change the answer (e.g. a failed protocol switch).
		return
	}
	h.local(st, status)
}
