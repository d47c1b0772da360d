package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/respheaders"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
)

// Header value slices shared by every request. They are only ever
// assigned into header maps, never modified in place (len == cap, so an
// append elsewhere copies).
var (
	valHTTP  = []string{"http"}
	valHTTPS = []string{"https"}
)

// rewriteOut is ReverseProxy's Rewrite hook. ReverseProxy has already
// removed hop-by-hop headers and the client's Forwarded, X-Forwarded-For,
// -Host and -Proto: ingress-nginx does not trust them by default
// (use-forwarded-headers: false), so fresh values are set here.
func (h *Handler) rewriteOut(st *reqState, pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.URL.Scheme = st.upstreamScheme(in.TLS != nil)
	out.URL.Host = st.up.EP.Address
	out.Host = in.Host // the upstream sees the client's Host, like nginx's proxy_set_header Host $best_http_host
	if st.rewritten {
		out.URL.Path, out.URL.RawPath = st.path, ""
		out.URL.RawQuery = st.rawQuery
	}

	hdr := out.Header
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = in.RemoteAddr
	}
	// One backing array for the per-request values; each header gets a
	// full-capacity slice of it so an append elsewhere copies.
	port := st.port
	if in.TLS != nil {
		// ingress-nginx's $pass_port: 443 for its HTTPS listener whatever
		// port that listens on (lua_ingress.lua), so backends that build
		// URLs from X-Forwarded-Port do not name moat's :8443.
		port = "443"
	}
	https := in.TLS != nil
	if hs := &st.http; hs.pp {
		// Behind PROXY: $remote_addr after real_ip, the port the load
		// balancer was reached on, https when that is 443 (lua_ingress.lua).
		clientIP, port, https = hs.client.String(), hs.ppPort, https || hs.https
	}
	vals := [...]string{clientIP, in.Host, port, st.reqID}
	hdr["X-Forwarded-For"] = vals[0:1:1]
	hdr["X-Real-Ip"] = vals[0:1:1]
	hdr["X-Forwarded-Host"] = vals[1:2:2]
	hdr["X-Forwarded-Port"] = vals[2:3:3]
	if st.reqID != "" {
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
	setClientHeaders(hdr, st.client)
	st.traceInject(hdr)
	h.httpRequestOut(st, in, out)
}

// modifyResponse runs once the upstream answered (including 101).
func (h *Handler) modifyResponse(st *reqState, res *http.Response) error {
	h.upstreams.MarkSucceeded(st.up.EP)
	grpcTrailersOnly(res)
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
	status := http.StatusBadGateway
	connectErr := exchange.IsDialError(err)
	st.up.Upstream, st.up.UpFailed = true, true
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		// nginx's non-standard 499 "client closed request"; nothing is
		// sent, the client is gone.
		st.rw.Status = 499
		h.logger.Debug("client closed request", "host", r.Host, "upstream", st.up.EP.Address, "request_id", st.reqID)
		return
	case exchange.IsTimeout(err):
		status = http.StatusGatewayTimeout
	}
	st.up.UpStatus = status
	if connectErr {
		h.upstreams.MarkFailed(st.up.EP)
		h.metrics.UpstreamConnectError(st.rt, st.canary())
	}
	src := st.servedSource() // the canary's Service when it served the request
	h.logger.LogAttrs(r.Context(), slog.LevelWarn, "upstream error",
		slog.String("host", r.Host), slog.String("upstream", st.up.EP.Address),
		slog.String("service", src.Namespace+"/"+src.Service),
		slog.String("request_id", st.reqID), slog.Int("status", status), slog.Any("error", err))
	if st.rw.WroteHeader || st.rw.Hijacked {
		// Too late to change the answer (e.g. a failed protocol switch).
		return
	}
	h.local(st, status)
}
