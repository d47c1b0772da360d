// Package retry is the proxy's exchange with a pool: the endpoint chosen
// for the request and the one exchange-and-retry loop (RoundTrip) that
// sends it there, timing each attempt (package attempt), trying the next
// endpoint as proxy-next-upstream allows, and handing back a response
// whose body is paced and timed. The proxy keeps one Loop per request,
// sets its fields once the route and endpoint are known, and reads what
// happened from it for the access log and metrics.
package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/mirror"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/attempt"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/balance"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/respwriter"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Env is what every request's loop shares: the handler's.
type Env struct {
	Balancer *balance.Balancer
	Ups      *upstream.Manager
	Mirror   *mirror.Sender
	Logger   *slog.Logger
	Now      func() time.Time
	// ConnectError counts a failed connect (may be nil).
	ConnectError func(rt *routecfg.Route, canary *routecfg.Canary)
	// Backends, when set, chooses the exchanger and scheme per pool;
	// Fallback serves pools without it.
	Backends Backends
	Fallback upstream.Backend
}

// Backends returns how to reach a pool: its exchanger and URL scheme
// (upstream.Transports.For).
type Backends interface {
	For(pool string) upstream.Backend
	// Plain reports a pool reached over plain HTTP/1.1.
	Plain(pool string) bool
}

// Choose records the exchanger and scheme of pool; http10 is
// proxy-http-version 1.0 on the route, which applies to plain-HTTP pools
// only (nginx's grpc_pass and fastcgi_pass ignore it; HTTPS keeps
// closing instead).
func (l *Loop) Choose(env *Env, pool string, http10 bool) {
	if env.Backends != nil {
		l.Backend = env.Backends.For(pool)
	} else {
		l.Backend = env.Fallback
	}
	// Plain is asked only for the rare proxy-http-version 1.0 route: it
	// is a second map lookup, not one for every request.
	if http10 && (env.Backends == nil || env.Backends.Plain(pool)) {
		l.Backend = upstream.Backend{Transport: upstream.HTTP10{Next: l.Backend.Transport}, Scheme: "http"}
	}
}

// Scheme is the outgoing URL's scheme; overTLS tells whether the request
// came over HTTPS, which AUTO_HTTP follows.
func (l *Loop) Scheme(overTLS bool) string {
	if overTLS && l.Backend.AutoTLS != nil {
		return "https"
	}
	if l.Backend.Scheme != "" {
		return l.Backend.Scheme
	}
	return "http"
}

// Failed records a round trip that ended without a response (err) and
// returns the status to answer as nginx would: 504 on timeouts (connect
// or response header), 502 otherwise; clientGone (the client's context
// was canceled) is nginx's 499, with nothing to send. Connect failures
// mark the endpoint for passive health; src names the Service for the
// log.
func (l *Loop) Failed(err error, r *http.Request, clientGone bool, src *routecfg.Source) (status int) {
	l.Upstream, l.UpFailed = true, true
	if clientGone {
		l.env.Logger.Debug("client closed request", "host", r.Host, "upstream", l.EP.Address, "request_id", l.RequestID)
		return 499
	}
	status = http.StatusBadGateway
	if exchange.IsTimeout(err) {
		status = http.StatusGatewayTimeout
	}
	l.UpStatus = status
	if exchange.IsDialError(err) {
		l.env.Ups.MarkFailed(l.EP)
		if l.env.ConnectError != nil {
			l.env.ConnectError(l.Route, l.canary())
		}
	}
	l.env.Logger.LogAttrs(r.Context(), slog.LevelWarn, "upstream error",
		slog.String("host", r.Host), slog.String("upstream", l.EP.Address),
		slog.String("service", src.Namespace+"/"+src.Service),
		slog.String("request_id", l.RequestID), slog.Int("status", status), slog.Any("error", err))
	return status
}

// Loop is one request's exchange with its pool. The zero value is
// ready; the proxy pools it with its request state.
type Loop struct {
	env *Env
	// Pick is the endpoint choice (package balance); EP the endpoint of
	// the current attempt, acquired by the proxy and moved by retries.
	Pick balance.Req
	EP   *upstream.Endpoint
	// Backend is the pool's exchanger and scheme.
	Backend upstream.Backend

	// Set by Start before the round trip.
	Route     *routecfg.Route
	Timeouts  *routecfg.Timeouts
	Body      *routecfg.Body
	W         *respwriter.Writer
	MaxHeader int64
	Server    net.Addr
	RequestID string
	// ClientCtx is the client's request context (Gateway API backoffs
	// end with it).
	ClientCtx context.Context

	// What happened, for the access log and metrics: Upstream, an
	// upstream was tried; UpFailed, it gave no response (UpStatus is then
	// the 502 or 504 answered); Connect and Header the last attempt's
	// connect and response-header times, AttStart its start.
	Upstream, UpFailed bool
	UpStatus           int
	Connect, Header    time.Duration
	AttStart           time.Time

	att     *attempt.Attempt
	resBody attempt.RespBody
	// spool is the request body read whole (proxy-request-buffering).
	spool *spool.Body
}

// Start readies l for the round trip of a request on route rt.
func (l *Loop) Start(env *Env, rt *routecfg.Route, tm *routecfg.Timeouts, body *routecfg.Body, w *respwriter.Writer, maxHeader int64, server net.Addr, reqID string, client context.Context) {
	l.env, l.Route, l.Timeouts, l.Body, l.W, l.MaxHeader, l.Server, l.RequestID, l.ClientCtx = env, rt, tm, body, w, maxHeader, server, reqID, client
}

// exchange sends one attempt's request through the pool's exchanger:
// AUTO_HTTP's HTTPS one when the client came over TLS (the outgoing
// request is a clone of the incoming one, TLS state included).
func (l *Loop) exchange(req *http.Request, a *attempt.Attempt) (*http.Response, error) {
	if l.Backend.AutoTLS != nil && req.TLS != nil {
		return l.Backend.AutoTLS.Exchange(req, a)
	}
	return l.Backend.Transport.Exchange(req, a)
}

// NoFlush stops the response body's flushes (its reads move to another
// goroutine under proxy-buffering).
func (l *Loop) NoFlush() {
	l.resBody.Flush = nil
	if l.att != nil {
		l.att.Flush = nil
	}
}

// Finish releases what the exchange held and feeds the EWMA balancer.
func (l *Loop) Finish() {
	l.spool.Close()
	if l.att != nil {
		l.att.Release()
		if l.Pick.Algorithm() == routecfg.EWMA && l.EP != nil {
			l.env.Ups.ObserveLatency(l.EP, l.env.Now().Sub(l.AttStart))
		}
	}
}

// canary is the route's canary when it took the request.
func (l *Loop) canary() *routecfg.Canary {
	if !l.Pick.Canary() || l.Route == nil || l.Route.Policy == nil {
		return nil
	}
	return l.Route.Policy.Canary
}

// RoundTrip is the exchange-and-retry loop, the ReverseProxy's
// transport: the route's upstream timeouts (proxy-send/read-timeout, per
// attempt), retries on the next endpoint (proxy-next-upstream*), request
// buffering (proxy-request-buffering), Gateway API mirrors, the upstream
// Host (upstream-vhost), the affinity cookie and response pacing
// (limit-rate). Each attempt goes to the pool's exchanger with the
// attempt as an argument.
func (l *Loop) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := l
	tm := l.Timeouts
	if p := l.Route.Policy; p != nil && p.Balance != nil && p.Balance.UpstreamVHost != "" {
		req.Host = p.Balance.UpstreamVHost
	}
	tr.Pick.First(l.EP)
	var rb *attempt.ReqBody
	var buffered []byte
	if req.Body != nil && req.Body != http.NoBody {
		body := l.Body
		switch {
		case body.RequestBuffering && req.ContentLength > 0 && req.ContentLength <= body.BufferBytes:
			// proxy-request-buffering: a small body is read whole first,
			// so every attempt can send it in full.
			buffered = make([]byte, req.ContentLength)
			if _, err := io.ReadFull(req.Body, buffered); err != nil {
				return nil, err
			}
		case body.RequestBuffering && req.ContentLength > 0:
			// A larger one too, the rest in a temporary file (package spool).
			if err := tr.spoolRequest(req, req.Body, body.BufferBytes); err != nil {
				return nil, err
			}
		case body.RequestBuffering && req.ContentLength < 0:
			// A chunked body is sent with a Content-Length, as nginx does
			// once it has buffered it; one larger than the buffer goes on
			// to a temporary file.
			head, err := io.ReadAll(io.LimitReader(req.Body, body.BufferBytes+1))
			if err != nil {
				return nil, err
			}
			if int64(len(head)) <= body.BufferBytes {
				buffered = head
				req.ContentLength = int64(len(head))
				req.TransferEncoding = nil
				if len(head) == 0 {
					req.Body = http.NoBody
					buffered = nil
				}
				break
			}
			if err := tr.spoolRequest(req, io.MultiReader(bytes.NewReader(head), req.Body), body.BufferBytes); err != nil {
				return nil, err
			}
		default:
			rb = &attempt.ReqBody{Src: req.Body}
		}
	}
	if l.Route.Mirrors != nil { // Gateway API RequestMirror: copies of the request as sent (internal/dataplane/mirror)
		l.env.Mirror.Send(req, buffered, l.Route.Mirrors)
	}
	ctx := req.Context()
	start := l.env.Now()
	for {
		if buffered != nil {
			rb = &attempt.ReqBody{Src: io.NopCloser(bytes.NewReader(buffered)), Buffered: true}
		} else if tr.spool != nil {
			rb = &attempt.ReqBody{Src: io.NopCloser(tr.spool.Reader()), Buffered: true}
		}
		a := attempt.New(ctx, tm, rb != nil)
		a.Flush, a.MaxHeader, a.Server = l.W, l.MaxHeader, l.Server
		areq := req.WithContext(a.Context())
		if rb != nil {
			rb.Attach(a)
			areq.Body = rb
		}
		if areq.URL.Host != l.EP.Address {
			u := *req.URL
			u.Host = l.EP.Address
			areq.URL = &u
		}
		tr.AttStart = l.env.Now()
		res, err := l.exchange(areq, a)
		if err == nil {
			err = l.checkHead(res) // proxy-buffer-size
		}
		if err == nil {
			// The header is in; body reads set their own deadline.
			a.HeaderIn()
			if c := statusCondition(res.StatusCode); c != 0 && tm.Next&c != 0 && l.mayRetry(req, rb, tm, start, false) {
				if prev := l.EP; l.retryPick() != nil {
					l.env.Logger.Debug("retrying on another endpoint", "upstream", prev.Address, "status", res.StatusCode, "next", l.EP.Address, "request_id", l.RequestID)
					io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
					res.Body.Close()
					a.Release()
					continue
				}
			}
			l.Upstream, l.UpFailed, l.UpStatus = true, false, res.StatusCode
			l.Header = l.env.Now().Sub(tr.AttStart)
			l.Connect = a.ConnectTime()
			l.respond(res, a)
			return res, nil
		}
		timedOut := a.TimedOut()
		a.Release()
		if timedOut {
			err = attempt.ErrTimeout
		}
		dial := exchange.IsDialError(err)
		if c := errorCondition(err, timedOut); tm.Next&c != 0 && l.mayRetry(req, rb, tm, start, dial) {
			prev := l.EP
			if l.retryPick() != nil {
				if dial {
					l.env.Ups.MarkFailed(prev)
					if l.env.ConnectError != nil {
						l.env.ConnectError(l.Route, l.canary())
					}
				}
				l.env.Logger.Debug("retrying on another endpoint", "upstream", prev.Address, "error", err, "next", l.EP.Address, "request_id", l.RequestID)
				continue
			}
		}
		return nil, err
	}
}

// reverseProxyFlushes is httputil.ReverseProxy's own rule (its
// flushInterval) for the responses it flushes after every write.
func reverseProxyFlushes(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	// Parse (and allocate) only for what can be an event stream.
	const sse = "text/event-stream"
	ct := res.Header.Get("Content-Type")
	if len(ct) < len(sse) || !strings.EqualFold(ct[:len(sse)], sse) {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct)
	return base == sse
}

// respond decorates the upstream's response: the timed body, the
// affinity cookie, X-Accel-Buffering.
func (l *Loop) respond(res *http.Response, a *attempt.Attempt) {
	tr := l
	tr.att = a
	if res.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection (WebSocket) is closed after
		// proxy-read-timeout without data from the upstream, as nginx
		// does; ReverseProxy needs the body to stay writable.
		if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
			a.CloseOnFire(rwc)
			res.Body = attempt.UpgradeBody{ReadWriteCloser: rwc, A: a}
		}
		if tr.Pick.SetCookie() != "" {
			res.Header.Add("Set-Cookie", tr.Pick.SetCookie())
		}
		return
	}
	tr.resBody = attempt.RespBody{RC: res.Body, A: a, Ctx: l.inCtx(res.Request)}
	// ReverseProxy flushes bodies of unknown length and event streams
	// itself, after every write and once from a timer goroutine at the
	// start; a flush of ours would then race with that timer on the
	// client's writer. Ours are for the bodies it leaves unflushed.
	ownFlush := !reverseProxyFlushes(res)
	if !ownFlush {
		a.Flush = nil // no flush from the transport's UpstreamWait either
	}
	if p := l.Route.Policy; p != nil && p.Limits != nil && p.Limits.Rate > 0 {
		tr.resBody.Rate, tr.resBody.After, tr.resBody.Start = p.Limits.Rate, p.Limits.RateAfter, time.Now()
		// Paced bytes must leave as they are paced.
		if ownFlush {
			tr.resBody.Flush = l.W
		}
	}
	if ownFlush && !upstream.WaitsUpstream(res.Body) {
		// This transport does not say when the upstream makes us wait,
		// so every read may: flush before each (as FlushInterval -1
		// did, without its timer).
		tr.resBody.Flush = l.W
	}
	res.Body = &tr.resBody
	if tr.Pick.SetCookie() != "" {
		res.Header.Add("Set-Cookie", tr.Pick.SetCookie())
	}
	// nginx honours X-Accel-Buffering from the upstream and does not pass
	// it on (proxy_hide_header's defaults).
	if v, ok := res.Header["X-Accel-Buffering"]; ok {
		switch strings.ToLower(strings.Join(v, "")) {
		case "yes":
			l.W.HoldFlush = true
		case "no":
			l.W.HoldFlush = false
		}
		delete(res.Header, "X-Accel-Buffering")
	}
}

func (l *Loop) inCtx(r *http.Request) context.Context {
	if in := l.Pick.In(); in != nil {
		return in.Context()
	}
	return r.Context()
}

// mayRetry says whether another endpoint may be tried: tries and time
// left, the client still there, and the request safe to send again:
// a body held in memory or not read at all, and POST, LOCK or PATCH only if they
// never reached an upstream (or with non_idempotent), as nginx.
func (l *Loop) mayRetry(req *http.Request, rb *attempt.ReqBody, tm *routecfg.Timeouts, start time.Time, dial bool) bool {
	tries := tm.Tries
	if tries == 0 {
		tries = len(l.env.Ups.Endpoints(l.Pick.Pool()))
	}
	switch {
	case l.Pick.Tried() >= tries:
		return false
	case tm.NextTimeout > 0 && l.env.Now().Sub(start) >= tm.NextTimeout:
		return false
	case l.inCtx(req).Err() != nil:
		return false
	case rb != nil && !rb.Replayable():
		return false
	case !dial && tm.Next&routecfg.NextNonIdempotent == 0 && !idempotent(req.Method):
		return false
	}
	return true
}

// idempotent is nginx's test: only POST, LOCK and PATCH are not.
func idempotent(m string) bool {
	return m != http.MethodPost && m != http.MethodPatch && m != "LOCK"
}

// retryPick moves the request to another endpoint of its pool. A Gateway
// API retry (Timeouts.Again) goes back to one already tried when none is
// left, after its backoff; nil when the client left meanwhile.
func (l *Loop) retryPick() *upstream.Endpoint {
	ep := l.env.Balancer.Next(&l.Pick, true)
	if tm := l.Timeouts; tm.Again || tm.Backoff > 0 {
		if ep == nil && tm.Again {
			if ep = l.env.Ups.Pick(l.Pick.Pool()); ep != nil {
				l.Pick.Again(ep)
			}
		}
		if ep != nil && tm.Backoff > 0 && !sleepCtx(l.ClientCtx, tm.Backoff) {
			return nil
		}
	}
	if ep == nil {
		return nil
	}
	l.EP.Release()
	ep.Acquire()
	l.EP = ep
	return ep
}

// sleepCtx waits d; false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func statusCondition(code int) routecfg.NextUpstream {
	switch code {
	case 500:
		return routecfg.NextHTTP500
	case 502:
		return routecfg.NextHTTP502
	case 503:
		return routecfg.NextHTTP503
	case 504:
		return routecfg.NextHTTP504
	case 403:
		return routecfg.NextHTTP403
	case 404:
		return routecfg.NextHTTP404
	case 429:
		return routecfg.NextHTTP429
	}
	return 0
}

func errorCondition(err error, timedOut bool) routecfg.NextUpstream {
	switch {
	case timedOut || exchange.IsTimeout(err):
		return routecfg.NextTimeout
	case strings.Contains(err.Error(), "malformed HTTP") || headTooBig(err):
		return routecfg.NextInvalidHeader
	}
	return routecfg.NextError
}

// spoolRequest reads the request body whole into l.spool
// (proxy-request-buffering on, a body larger than client-body-buffer-size)
// and sets req up to send it with a Content-Length, as nginx does once it
// has buffered a body.
func (tr *Loop) spoolRequest(req *http.Request, src io.Reader, memMax int64) error {
	sp, err := spool.Read(src, memMax)
	if err != nil {
		return err
	}
	tr.spool = sp
	req.ContentLength, req.TransferEncoding = sp.Size(), nil
	return nil
}

// errHeadTooBig is nginx's "upstream sent too big header": a response
// head larger than proxy-buffer-size. Like nginx it is answered 502 and
// counts as proxy-next-upstream's invalid_header.
var errHeadTooBig = errors.New("upstream sent too big header (larger than proxy-buffer-size)")

// headTooBig recognises errHeadTooBig and the transports' own errors for
// a head over the bound they were given.
func headTooBig(err error) bool {
	if errors.Is(err, errHeadTooBig) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "response header larger than") || strings.Contains(s, "server response headers exceeded")
}

// headSize is the size of an HTTP/1 response head as the upstream wrote
// it, from the parsed response: status line, "Name: value" lines (the
// form servers write) and the blank line.
func headSize(res *http.Response) int64 {
	n := int64(len(res.Proto) + 1 + len(res.Status) + 2 + 2)
	for k, vs := range res.Header {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	if len(res.TransferEncoding) > 0 {
		// net/http moves Transfer-Encoding out of the header.
		n += int64(len("Transfer-Encoding: ") + len(strings.Join(res.TransferEncoding, ", ")) + 2)
	}
	return n
}

// checkHead applies proxy-buffer-size to a response the transport did not
// bound itself; on failure it closes the body.
func (l *Loop) checkHead(res *http.Response) error {
	max := l.Body.ResponseHeaderMax
	if max <= 0 || res.ProtoMajor != 1 || headSize(res) <= max {
		return nil
	}
	res.Body.Close()
	return errHeadTooBig
}
