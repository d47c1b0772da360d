package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// trafficTransport wraps the ReverseProxy's transport with the route's
// upstream timeouts (proxy-send/read-timeout, per attempt), retries on the
// next endpoint (proxy-next-upstream*), the streamed body limit, the
// upstream Host (upstream-vhost), the affinity cookie and response
// pacing (limit-rate). Everything it decides comes from the reqState.
type trafficTransport struct {
	h    *Handler
	base http.RoundTripper
}

// errUpstreamTimeout ends an attempt whose upstream stayed silent for
// longer than proxy-read-timeout or proxy-send-timeout; errorHandler maps
// it to 504 (it is a net.Error with Timeout).
var errUpstreamTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string {
	return "upstream timed out (proxy-read-timeout / proxy-send-timeout)"
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// errBodyTooLarge ends a streamed request body over proxy-body-size.
var errBodyTooLarge = errors.New("request body larger than proxy-body-size")

func (t *trafficTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(stateKey{}).(*reqState)
	if st == nil || st.rt == nil || st.ep == nil {
		return t.base.RoundTrip(req)
	}
	h, tr := t.h, &st.tr
	tm := st.timeouts()
	if p := st.rt.Policy; p != nil && p.Balance != nil && p.Balance.UpstreamVHost != "" {
		req.Host = p.Balance.UpstreamVHost
	}
	if len(tr.tried) == 0 {
		tr.tried = append(tr.triedBuf[:0], st.ep)
	}
	var rb *reqBody
	var buffered []byte
	if req.Body != nil && req.Body != http.NoBody {
		body := st.bodyPolicy()
		switch {
		case body.RequestBuffering && req.ContentLength > 0 && req.ContentLength <= body.BufferBytes:
			// proxy-request-buffering: a small body is read whole first,
			// so every attempt can send it in full.
			buffered = make([]byte, req.ContentLength)
			if _, err := io.ReadFull(req.Body, buffered); err != nil {
				return nil, err
			}
		case body.RequestBuffering && req.ContentLength > 0:
			// A larger one too, the rest in a temporary file (spool.go).
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
				if tr.bodyMax > 0 && int64(len(head)) > tr.bodyMax {
					return tooLarge(req), nil
				}
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
				if errors.Is(err, errBodyTooLarge) {
					return tooLarge(req), nil
				}
				return nil, err
			}
		default:
			rb = &reqBody{src: req.Body, max: tr.bodyMax}
		}
	}
	if st.rt.Mirrors != nil { // Gateway API RequestMirror: copies of the request as sent (internal/dataplane/mirror)
		h.mirror.Send(req, buffered, st.rt.Mirrors)
	}
	ctx := req.Context()
	start := h.now()
	for {
		if buffered != nil {
			rb = &reqBody{src: io.NopCloser(bytes.NewReader(buffered)), buffered: true}
		} else if tr.spool != nil {
			rb = &reqBody{src: io.NopCloser(tr.spool.reader()), buffered: true}
		}
		a := newAttempt(ctx, tm, rb != nil)
		a.rw, a.maxHeader = &st.rw, st.maxResponseHeader
		areq := req.WithContext(&a.ctx)
		if rb != nil {
			rb.attach(a)
			areq.Body = rb
		}
		if areq.URL.Host != st.ep.Address {
			u := *req.URL
			u.Host = st.ep.Address
			areq.URL = &u
		}
		tr.attStart = h.now()
		res, err := t.base.RoundTrip(areq)
		if err == nil {
			err = checkHead(st, res) // proxy-buffer-size (respbuffer.go)
		}
		if err == nil {
			// The header is in; body reads set their own deadline.
			a.set(readDeadline, 0)
			if c := statusCondition(res.StatusCode); c != 0 && tm.Next&c != 0 && t.mayRetry(st, req, rb, tm, start, false) {
				if prev := st.ep; h.retryPick(st) != nil {
					h.logger.Debug("retrying on another endpoint", "upstream", prev.Address, "status", res.StatusCode, "next", st.ep.Address, "request_id", st.reqID)
					io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
					res.Body.Close()
					a.release()
					continue
				}
			}
			st.obs.upstream, st.obs.upFailed, st.obs.upStatus = true, false, res.StatusCode
			st.obs.header = h.now().Sub(tr.attStart)
			st.obs.connect = time.Duration(a.connectNs.Load())
			t.respond(st, res, a)
			return res, nil
		}
		timedOut := a.timedOut()
		a.release()
		if rb != nil && rb.tooLarge() {
			return tooLarge(req), nil
		}
		if timedOut {
			err = errUpstreamTimeout
		}
		dial := isDialError(err)
		if c := errorCondition(err, timedOut); tm.Next&c != 0 && t.mayRetry(st, req, rb, tm, start, dial) {
			prev := st.ep
			if h.retryPick(st) != nil {
				if dial {
					h.upstreams.MarkFailed(prev)
					h.metrics.UpstreamConnectError(st.rt, st.canary())
				}
				h.logger.Debug("retrying on another endpoint", "upstream", prev.Address, "error", err, "next", st.ep.Address, "request_id", st.reqID)
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
func (t *trafficTransport) respond(st *reqState, res *http.Response, a *attempt) {
	tr := &st.tr
	tr.att = a
	if res.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection (WebSocket) is closed after
		// proxy-read-timeout without data from the upstream, as nginx
		// does; ReverseProxy needs the body to stay writable.
		if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
			a.closeOnFire(rwc)
			res.Body = upgradeBody{rwc, a}
		}
		if tr.setCookie != "" {
			res.Header.Add("Set-Cookie", tr.setCookie)
		}
		return
	}
	tr.resBody = respBody{rc: res.Body, a: a, ctx: st.tr.inCtx(res.Request)}
	// ReverseProxy flushes bodies of unknown length and event streams
	// itself, after every write and once from a timer goroutine at the
	// start; a flush of ours would then race with that timer on the
	// client's writer. Ours are for the bodies it leaves unflushed.
	ownFlush := !reverseProxyFlushes(res)
	if !ownFlush {
		a.rw = nil // no flush from the transport's UpstreamWait either
	}
	if p := st.rt.Policy; p != nil && p.Limits != nil && p.Limits.Rate > 0 {
		tr.resBody.rate, tr.resBody.after, tr.resBody.start = p.Limits.Rate, p.Limits.RateAfter, time.Now()
		// Paced bytes must leave as they are paced.
		if ownFlush {
			tr.resBody.flush = &st.rw
		}
	}
	if ownFlush && !upstream.WaitsUpstream(res.Body) {
		// This transport does not say when the upstream makes us wait,
		// so every read may: flush before each (as FlushInterval -1
		// did, without its timer).
		tr.resBody.flush = &st.rw
	}
	res.Body = &tr.resBody
	if tr.setCookie != "" {
		res.Header.Add("Set-Cookie", tr.setCookie)
	}
	// nginx honours X-Accel-Buffering from the upstream and does not pass
	// it on (proxy_hide_header's defaults).
	if v, ok := res.Header["X-Accel-Buffering"]; ok {
		switch strings.ToLower(strings.Join(v, "")) {
		case "yes":
			st.rw.holdFlush = true
		case "no":
			st.rw.holdFlush = false
		}
		delete(res.Header, "X-Accel-Buffering")
	}
}

func (tr *trafficReq) inCtx(r *http.Request) context.Context {
	if tr.in != nil {
		return tr.in.Context()
	}
	return r.Context()
}

// mayRetry says whether another endpoint may be tried: tries and time
// left, the client still there, and the request safe to send again:
// a body held in memory or not read at all, and POST, LOCK or PATCH only if they
// never reached an upstream (or with non_idempotent), as nginx.
func (t *trafficTransport) mayRetry(st *reqState, req *http.Request, rb *reqBody, tm *routecfg.Timeouts, start time.Time, dial bool) bool {
	tries := tm.Tries
	if tries == 0 {
		tries = len(t.h.upstreams.Endpoints(st.tr.pool))
	}
	switch {
	case len(st.tr.tried) >= tries:
		return false
	case tm.NextTimeout > 0 && t.h.now().Sub(start) >= tm.NextTimeout:
		return false
	case st.tr.inCtx(req).Err() != nil:
		return false
	case rb != nil && !rb.replayable():
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
func (h *Handler) retryPick(st *reqState) *upstream.Endpoint {
	ep := h.choose(st, true)
	if tm := st.timeouts(); tm.Again || tm.Backoff > 0 {
		if ep == nil && tm.Again {
			if ep = h.upstreams.Pick(st.tr.pool); ep != nil {
				st.tr.tried = append(st.tr.tried, ep)
			}
		}
		if ep != nil && tm.Backoff > 0 && !sleepCtx(st.http.req.Context(), tm.Backoff) {
			return nil
		}
	}
	if ep == nil {
		return nil
	}
	st.ep.Release()
	ep.Acquire()
	st.ep = ep
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
	case timedOut || isTimeout(err):
		return routecfg.NextTimeout
	case strings.Contains(err.Error(), "malformed HTTP") || headTooBig(err):
		return routecfg.NextInvalidHeader
	}
	return routecfg.NextError
}

// tooLarge is the 413 answered when a streamed body exceeds the limit.
func tooLarge(req *http.Request) *http.Response {
	body := statusBody(http.StatusRequestEntityTooLarge)
	return &http.Response{
		Status:     "413 " + http.StatusText(http.StatusRequestEntityTooLarge),
		StatusCode: http.StatusRequestEntityTooLarge,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": valTextPlain, "X-Content-Type-Options": valNoSniff,
			"Content-Length": {strconv.Itoa(len(body))}, "Connection": {"close"}},
		Body:          io.NopCloser(strings.NewReader(string(body))),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// monoBase anchors attempt deadlines on the monotonic clock.
var monoBase = time.Now()

// attempt bounds one exchange with an endpoint, as nginx's
// proxy_send_timeout and proxy_read_timeout: a write of the request that
// the upstream does not take within the send timeout, or a wait for the
// upstream (response header, then each read of the body) longer than the
// read timeout, cancels it. The two run independently (a gRPC stream
// writes and reads at once). Connecting is bounded by the dialer
// (proxy-connect-timeout). The timer is pooled; the attempt carries the
// generation it was given, so a transport goroutine that calls back late
// (after the request ended) cannot touch the timer's next use.
type attempt struct {
	t                   *silenceTimer
	gen                 uint64
	connect, send, read time.Duration
	// hasBody: the request body's reads drive the send deadline and its
	// end starts the read deadline; without one the request is written
	// as soon as there is a connection.
	hasBody  bool
	ctx      attemptCtx
	released bool
	// For upstream.ExchangeHook: the client's writer, flushed when the
	// upstream makes the body wait, and the response header bound.
	rw        *responseWriter
	maxHeader int64
	// dialStart and connectNs time the connection dialed for the attempt
	// ($upstream_connect_time; 0 when a kept-alive one was reused).
	// Atomic: a transport may dial on a goroutine of its own.
	dialStart, connectNs atomic.Int64
}

// MaxResponseHeaderBytes and UpstreamWait are the upstream.ExchangeHook.
func (a *attempt) MaxResponseHeaderBytes() int64 { return a.maxHeader }

func (a *attempt) UpstreamWait() {
	if a.rw != nil {
		a.rw.flushStarted()
	}
}

// Which deadline of a silenceTimer.
const (
	sendDeadline = iota
	readDeadline
)

// attemptCtx is the attempt's context: a cancel context that also answers
// the dialer's upstream.DialHookKey with the attempt (no extra
// allocation).
type attemptCtx struct {
	context.Context
	a *attempt
}

func (c *attemptCtx) Value(key any) any {
	if _, ok := key.(upstream.DialHookKey); ok {
		return c.a
	}
	return c.Context.Value(key)
}

// ConnectTimeout, Dialing and Dialed are the upstream.DialHook: the
// deadlines stop while a connection is dialed for the attempt.
func (a *attempt) ConnectTimeout() time.Duration { return a.connect }

func (a *attempt) Dialing() {
	a.dialStart.Store(int64(time.Since(monoBase)))
	a.set(sendDeadline, 0)
	a.set(readDeadline, 0)
}

func (a *attempt) Dialed() {
	if s := a.dialStart.Load(); s != 0 {
		a.connectNs.Store(int64(time.Since(monoBase)) - s)
	}
	a.start()
}

// start sets the deadline of the first phase: sending the request when
// it has a body, else waiting for the response.
func (a *attempt) start() {
	if a.hasBody {
		a.set(sendDeadline, a.send)
	} else {
		a.set(readDeadline, a.read)
	}
}

// silenceTimer is the pooled part of an attempt: one timer for the
// earlier of two deadlines.
type silenceTimer struct {
	timer *time.Timer

	mu          sync.Mutex
	gen         uint64
	cancel      context.CancelCauseFunc
	deadline    [2]time.Duration // since monoBase; 0 unset
	fired       bool
	closeOnFire io.Closer // an upgraded connection
}

var silenceTimers = sync.Pool{New: func() any {
	t := &silenceTimer{}
	t.timer = time.AfterFunc(time.Hour, t.fire)
	t.timer.Stop()
	return t
}}

func newAttempt(parent context.Context, tm *routecfg.Timeouts, hasBody bool) *attempt {
	t := silenceTimers.Get().(*silenceTimer)
	ctx, cancel := context.WithCancelCause(parent)
	a := &attempt{t: t, connect: tm.Connect, send: tm.Send, read: tm.Read, hasBody: hasBody}
	a.ctx = attemptCtx{Context: ctx, a: a}
	t.mu.Lock()
	t.gen++
	a.gen = t.gen
	t.cancel, t.fired, t.closeOnFire, t.deadline = cancel, false, nil, [2]time.Duration{}
	t.mu.Unlock()
	a.start()
	return a
}

// set starts deadline which d from now (0: clears it).
func (a *attempt) set(which int, d time.Duration) {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != a.gen || t.cancel == nil || t.fired {
		return
	}
	now := time.Since(monoBase)
	if d <= 0 {
		t.deadline[which] = 0
	} else {
		t.deadline[which] = now + d
	}
	t.schedule(now)
}

// schedule points the timer at the earlier deadline. t.mu is held.
func (t *silenceTimer) schedule(now time.Duration) {
	next := time.Duration(0)
	for _, d := range t.deadline {
		if d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	if next == 0 {
		t.timer.Stop()
		return
	}
	t.timer.Reset(max(next-now, 0))
}

func (t *silenceTimer) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel == nil || t.fired {
		return
	}
	now := time.Since(monoBase)
	for _, d := range t.deadline {
		if d != 0 && d <= now {
			t.fired = true
			t.cancel(errUpstreamTimeout)
			if t.closeOnFire != nil {
				t.closeOnFire.Close()
			}
			return
		}
	}
	// A stale firing (a deadline moved meanwhile): wait for the next.
	t.schedule(now)
}

// closeOnFire makes a timeout also close c (an upgraded connection,
// which the context no longer governs).
func (a *attempt) closeOnFire(c io.Closer) {
	a.t.mu.Lock()
	if a.t.gen == a.gen {
		a.t.closeOnFire = c
	}
	a.t.mu.Unlock()
}

func (a *attempt) timedOut() bool {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	return a.t.gen == a.gen && a.t.fired
}

// release ends the attempt, frees its context and returns the timer to
// the pool. It is called once, by the goroutine that owns the attempt.
func (a *attempt) release() {
	if a.released {
		return
	}
	a.released = true
	t := a.t
	t.mu.Lock()
	if t.cancel != nil {
		t.cancel(context.Canceled)
	}
	t.cancel, t.closeOnFire, t.deadline = nil, nil, [2]time.Duration{}
	t.gen++
	t.mu.Unlock()
	t.timer.Stop()
	silenceTimers.Put(t)
}

// reqBody is the request body seen by the transport: it counts bytes
// (a partly sent body is never sent again), enforces proxy-body-size on
// bodies of unknown length, and feeds the send timeout. Close does not
// close the client's body, so a retry after a connection failure can
// still send it; net/http closes it when the handler returns.
type reqBody struct {
	src io.ReadCloser
	max int64
	// buffered: src is the whole body held in memory, new per attempt.
	buffered bool

	mu   sync.Mutex
	n    int64
	big  bool
	a    *attempt
	done bool
}

func (b *reqBody) attach(a *attempt) {
	b.mu.Lock()
	b.a = a
	b.mu.Unlock()
}

func (b *reqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.big {
		return 0, errBodyTooLarge
	}
	// The transport asks for more once the previous chunk is written:
	// the upstream took it. Waiting for the client is not the upstream's
	// silence.
	if b.a != nil {
		b.a.set(sendDeadline, 0)
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	if b.max > 0 && b.n > b.max {
		b.big = true
		return 0, errBodyTooLarge
	}
	if b.a != nil {
		if n > 0 {
			b.a.set(sendDeadline, b.a.send)
		}
		if err == io.EOF {
			b.done = true
			b.a.set(readDeadline, b.a.read)
		}
	}
	return n, err
}

func (b *reqBody) Close() error { return nil }

// replayable says whether the body can be sent again: held in memory,
// or not read at all yet.
func (b *reqBody) replayable() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buffered || (b.n == 0 && !b.done)
}

func (b *reqBody) tooLarge() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.big
}

// respBody is the upstream response body seen by the ReverseProxy: each
// read is bounded by the read timeout, and limit-rate paces it.
type respBody struct {
	rc    io.ReadCloser
	a     *attempt
	ctx   context.Context
	rate  int64 // bytes per second; 0 unlimited
	after int64
	start time.Time
	n     int64
	// flush, when set, is flushed before every read.
	flush *responseWriter
}

func (b *respBody) Read(p []byte) (int, error) {
	if b.flush != nil {
		b.flush.flushStarted()
	}
	if b.rate > 0 {
		// Small reads keep the pace smooth (a tenth of a second's worth).
		p = p[:min(int64(len(p)), max(b.rate/10, 512))]
	}
	b.a.set(readDeadline, b.a.read)
	n, err := b.rc.Read(p)
	b.a.set(readDeadline, 0)
	if err != nil && b.a.timedOut() {
		err = errUpstreamTimeout
	}
	b.n += int64(n)
	if b.rate > 0 && b.n > b.after && err == nil {
		due := time.Duration(float64(b.n-b.after) / float64(b.rate) * float64(time.Second))
		if wait := due - time.Since(b.start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return n, b.ctx.Err()
			}
		}
	}
	return n, err
}

func (b *respBody) Close() error { return b.rc.Close() }

// upgradeBody is an upgraded connection's upstream side: reads are bounded
// by the read timeout.
type upgradeBody struct {
	io.ReadWriteCloser
	a *attempt
}

func (u upgradeBody) Read(p []byte) (int, error) {
	u.a.set(readDeadline, u.a.read)
	return u.ReadWriteCloser.Read(p)
}
