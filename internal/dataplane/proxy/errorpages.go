package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Error pages are ingress-nginx's custom-http-errors: `error_page CODE =
// @custom_UPSTREAM_CODE` sends the request to a named location that
// proxies it to the default backend as "/" (rewrite (.*) / break keeps
// the query) with X-Code and friends, and proxy_intercept_errors off.
// "=" without a code: the client gets the default backend's status and
// body. A failure there is nginx's own 502 or 504, not replaced again
// (recursive_error_pages is off).

// errorPages is the route's custom-http-errors, or nil.
func (st *reqState) errorPages() *routecfg.ErrorPages {
	if st.rt == nil || st.rt.Policy == nil {
		return nil
	}
	return st.rt.Policy.ErrorPages
}

// interceptError replaces an upstream answer listed in custom-http-errors
// (with proxy_intercept_errors on) by the error page.
func (h *Handler) interceptError(st *reqState, res *http.Response) {
	ep := st.errorPages()
	if ep == nil || !ep.Intercept || !ep.Has(res.StatusCode) || st.http.req == nil {
		return
	}
	code := res.StatusCode
	res.Body.Close()
	page := h.errorPage(st, code)
	res.StatusCode, res.Status = page.StatusCode, page.Status
	res.Header, res.Body, res.ContentLength = page.Header, page.Body, page.ContentLength
	res.Trailer = nil
	if res.ContentLength < 0 {
		res.Header.Del("Content-Length")
	}
}

// localErrorPage answers with the error page instead of moat's own answer
// code when the route lists it (nginx's error_page applies to the answers
// nginx makes itself whatever proxy_intercept_errors says); false: code
// is not listed, and the caller answers itself.
func (h *Handler) localErrorPage(st *reqState, code int) bool {
	ep := st.errorPages()
	if ep == nil || code < 400 || !ep.Has(code) || st.http.req == nil || st.rw.wroteHeader || st.rw.hijacked {
		return false
	}
	page := h.errorPage(st, code)
	defer page.Body.Close()
	hdr := st.rw.Header()
	for k, v := range page.Header {
		hdr[k] = v
	}
	if page.ContentLength >= 0 {
		hdr["Content-Length"] = []string{strconv.FormatInt(page.ContentLength, 10)}
	} else {
		delete(hdr, "Content-Length")
	}
	h.decorate(st, hdr, page.StatusCode)
	if st.hsts != "" {
		hdr["Strict-Transport-Security"] = []string{st.hsts}
	}
	st.rw.WriteHeader(page.StatusCode)
	if st.http.req.Method != http.MethodHead {
		io.Copy(&st.rw, page.Body) //nolint:errcheck // the client may be gone; nothing to do
	}
	return true
}

// errorPage asks the default backend for the page of code: the route's
// (the default-backend annotation's, when its Ingress lists codes), else
// --default-backend-service's; with neither ready, the built-in 404 that
// ingress-nginx's internal default server answers. The response's body
// must be closed.
func (h *Handler) errorPage(st *reqState, code int) *http.Response {
	r := st.http.req
	var pool string
	if ep := st.errorPages(); ep != nil {
		pool = ep.Pool
	}
	e := h.upstreams.Pick(pool)
	if e == nil && st.http.defBackend != nil {
		pool = st.http.defBackend.Pool
		e = h.upstreams.Pick(pool)
	}
	if e == nil {
		return localResponse(http.StatusNotFound)
	}
	// rewrite (.*) / break: the path is "/", the query stays. Built as a
	// URL, not parsed from text, so the client's query cannot reshape it.
	u := &url.URL{Scheme: "http", Host: e.Address, Path: "/", RawQuery: r.URL.RawQuery}
	// Bounded as the named location is, by the default connect and read
	// timeouts: a default backend that hangs is a 504, not a hang.
	tm := st.tr.def().Timeouts
	ctx, cancel := context.WithTimeout(r.Context(), tm.Connect+tm.Read)
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+e.Address+"/", nil)
	if err != nil {
		cancel()
		return localResponse(http.StatusBadGateway)
	}
	req.URL = u
	// The client's headers go on, as proxy_pass_request_headers does, but
	// for the hop-by-hop ones and those nginx's proxy module drops or
	// sets itself; no body is sent.
	for k, v := range r.Header {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect", "Content-Length", "Proxy":
			continue
		}
		req.Header[k] = v
	}
	req.Host = st.http.host
	errorPageHeaders(st, r, req.Header, code)
	req.Header["X-Original-Uri"] = []string{r.RequestURI}
	req.Header["X-Forwarded-For"] = []string{st.http.client.String()}
	res, err := h.errTransport.RoundTrip(req)
	if err != nil {
		cancel()
		status := http.StatusBadGateway
		if isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		if isDialError(err) {
			h.upstreams.MarkFailed(e)
		}
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "default backend error",
			slog.String("host", r.Host), slog.String("upstream", e.Address), slog.String("pool", pool),
			slog.Int("code", code), slog.String("request_id", st.reqID), slog.Int("status", status), slog.Any("error", err))
		return localResponse(status)
	}
	h.upstreams.MarkSucceeded(e)
	res.Body = &cancelBody{ReadCloser: res.Body, cancel: cancel}
	for _, k := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(res.Header, k)
	}
	return res
}

// errorPageHeaders sets what ingress-nginx's error-page locations send:
// X-Code, X-Format ($http_accept), X-Namespace, X-Ingress-Name,
// X-Service-Name, X-Service-Port, X-Request-ID. nginx leaves out a header
// whose value is empty (the unmatched requests' location has no Ingress).
func errorPageHeaders(st *reqState, r *http.Request, hdr http.Header, code int) {
	var src routecfg.Source
	if st.rt != nil && !st.http.unmatched {
		src = st.rt.Source
	}
	set := func(k, v string) {
		if v != "" {
			hdr[k] = []string{v}
		} else {
			delete(hdr, k)
		}
	}
	set("X-Code", strconv.Itoa(code))
	set("X-Format", strings.Join(r.Header["Accept"], ", "))
	set("X-Namespace", src.Namespace)
	set("X-Ingress-Name", src.Ingress)
	set("X-Service-Name", src.Service)
	set("X-Service-Port", src.Port)
	set("X-Request-Id", st.reqID)
}

// noEndpointsHeaders are the headers ingress-nginx's location sends when
// it proxies to the default-backend annotation's Service because its own
// has no endpoint (the custom-default-backend- upstream): the error-page
// set with X-Code 503 and no X-Original-URI.
func noEndpointsHeaders(st *reqState, in *http.Request, hdr http.Header) {
	errorPageHeaders(st, in, hdr, http.StatusServiceUnavailable)
}

// localResponse is moat's own answer code as a response.
func localResponse(code int) *http.Response {
	body := statusBody(code)
	return &http.Response{
		StatusCode:    code,
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": valTextPlain, "X-Content-Type-Options": valNoSniff},
		Body:          io.NopCloser(strings.NewReader(string(body))),
		ContentLength: int64(len(body)),
	}
}

// cancelBody ends the error-page request's context once its body is read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
