// Package errorpage is what moat answers itself: the bodies of its local
// answers, and ingress-nginx's custom-http-errors error pages.
//
// Error pages are ingress-nginx's custom-http-errors: `error_page CODE =
// @custom_UPSTREAM_CODE` sends the request to a named location that
// proxies it to the default backend as "/" (rewrite (.*) / break keeps
// the query) with X-Code and friends, and proxy_intercept_errors off.
// "=" without a code: the client gets the default backend's status and
// body. A failure there is nginx's own 502 or 504, not replaced again
// (recursive_error_pages is off).
package errorpage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Backend fetches error pages from the default backends' endpoints in
// Ups over Transport (plain HTTP, as ingress-nginx's @custom_ locations
// proxy_pass http://), logging failures to Logger.
type Backend struct {
	Ups       *upstream.Manager
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Request is what an error page needs of the client's request.
type Request struct {
	R *http.Request
	// Pool is the route's default backend ("" without one); Default is
	// --default-backend-service's route, or nil.
	Pool    string
	Default *routecfg.Route
	// Timeouts bound the page's request (connect + read).
	Timeouts *routecfg.Timeouts
	// Host is $best_http_host, Client $remote_addr, Source the request's
	// Ingress (zero for unmatched requests).
	Host      string
	Client    netip.Addr
	RequestID string
	Source    routecfg.Source
}

// Shared header values for local answers; never modified in place.
var (
	textPlain = []string{"text/plain; charset=utf-8"}
	noSniff   = []string{"nosniff"}
)

// Plain sets the content headers of a local text answer.
func Plain(hdr http.Header) {
	hdr["Content-Type"] = textPlain
	hdr["X-Content-Type-Options"] = noSniff
}

// Page asks the default backend for the page of code: q.Pool (the
// default-backend annotation's, when its Ingress lists codes), else
// --default-backend-service's; with neither ready, the built-in 404 that
// ingress-nginx's internal default server answers. The response's body
// must be closed.
func (b *Backend) Page(q *Request, code int) *http.Response {
	r := q.R
	pool := q.Pool
	e := b.Ups.Pick(pool)
	if e == nil && q.Default != nil {
		pool = q.Default.Pool
		e = b.Ups.Pick(pool)
	}
	if e == nil {
		return Local(http.StatusNotFound)
	}
	// rewrite (.*) / break: the path is "/", the query stays. Built as a
	// URL, not parsed from text, so the client's query cannot reshape it.
	u := &url.URL{Scheme: "http", Host: e.Address, Path: "/", RawQuery: r.URL.RawQuery}
	// Bounded as the named location is, by the default connect and read
	// timeouts: a default backend that hangs is a 504, not a hang.
	tm := q.Timeouts
	ctx, cancel := context.WithTimeout(r.Context(), tm.Connect+tm.Read)
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+e.Address+"/", nil)
	if err != nil {
		cancel()
		return Local(http.StatusBadGateway)
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
	req.Host = q.Host
	Headers(req.Header, r, code, q.Source, q.RequestID)
	req.Header["X-Original-Uri"] = []string{r.RequestURI}
	req.Header["X-Forwarded-For"] = []string{q.Client.String()}
	res, err := b.Transport.RoundTrip(req)
	if err != nil {
		cancel()
		status := http.StatusBadGateway
		if exchange.IsTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		if exchange.IsDialError(err) {
			b.Ups.MarkFailed(e)
		}
		b.Logger.LogAttrs(r.Context(), slog.LevelWarn, "default backend error",
			slog.String("host", r.Host), slog.String("upstream", e.Address), slog.String("pool", pool),
			slog.Int("code", code), slog.String("request_id", q.RequestID), slog.Int("status", status), slog.Any("error", err))
		return Local(status)
	}
	b.Ups.MarkSucceeded(e)
	res.Body = &cancelBody{ReadCloser: res.Body, cancel: cancel}
	for _, k := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(res.Header, k)
	}
	return res
}

// Headers sets what ingress-nginx's error-page locations send:
// X-Code, X-Format ($http_accept), X-Namespace, X-Ingress-Name,
// X-Service-Name, X-Service-Port, X-Request-ID (src is the request's
// Ingress). nginx leaves out a header
// whose value is empty (the unmatched requests' location has no Ingress).
func Headers(hdr http.Header, r *http.Request, code int, src routecfg.Source, reqID string) {
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
	set("X-Request-Id", reqID)
}

// Local is moat's own answer code as a response.
func Local(code int) *http.Response {
	body := Body(code)
	return &http.Response{
		StatusCode:    code,
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": textPlain, "X-Content-Type-Options": noSniff},
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

// Bodies for the common local answers, built once.
var (
	body404 = []byte("404 page not found\n")
	body502 = []byte("502 Bad Gateway\n")
	body503 = []byte("503 Service Unavailable\n")
	body504 = []byte("504 Gateway Timeout\n")
)

// Body is the body of moat's own answer code.
func Body(code int) []byte {
	switch code {
	case http.StatusNotFound:
		return body404
	case http.StatusBadGateway:
		return body502
	case http.StatusServiceUnavailable:
		return body503
	case http.StatusGatewayTimeout:
		return body504
	}
	return []byte(strconv.Itoa(code) + " " + http.StatusText(code) + "\n")
}

// Replace makes res (whose body is closed) the error page.
func Replace(res, page *http.Response) {
	res.StatusCode, res.Status = page.StatusCode, page.Status
	res.Header, res.Body, res.ContentLength = page.Header, page.Body, page.ContentLength
	res.Trailer = nil
	if res.ContentLength < 0 {
		res.Header.Del("Content-Length")
	}
}

// CopyHeader puts the page's header, with its length, on hdr.
func CopyHeader(hdr http.Header, page *http.Response) {
	for k, v := range page.Header {
		hdr[k] = v
	}
	if page.ContentLength >= 0 {
		hdr["Content-Length"] = []string{strconv.FormatInt(page.ContentLength, 10)}
	} else {
		delete(hdr, "Content-Length")
	}
}
