package proxy

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/attempt"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/spool"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// roundTrip is the ReverseProxy's transport: the exchange-and-retry loop
// with the route's upstream timeouts (proxy-send/read-timeout, per
// attempt), retries on the next endpoint (proxy-next-upstream*), the
// streamed body limit, the upstream Host (upstream-vhost), the affinity
// cookie and response pacing (limit-rate). Everything it decides comes
// from st; each attempt goes to the pool's exchanger with the attempt as
// an argument.
func (h *Handler) roundTrip(st *reqState, req *http.Request) (*http.Response, error) {
	tr := &st.tr
	tm := st.timeouts()
	if p := st.rt.Policy; p != nil && p.Balance != nil && p.Balance.UpstreamVHost != "" {
		req.Host = p.Balance.UpstreamVHost
	}
	tr.pick.First(st.ep)
	var rb *attempt.ReqBody
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
	if st.rt.Mirrors != nil { // Gateway API RequestMirror: copies of the request as sent (internal/dataplane/mirror)
		h.mirror.Send(req, buffered, st.rt.Mirrors)
	}
	ctx := req.Context()
	start := h.now()
	for {
		if buffered != nil {
			rb = &attempt.ReqBody{Src: io.NopCloser(bytes.NewReader(buffered)), Buffered: true}
		} else if tr.spool != nil {
			rb = &attempt.ReqBody{Src: io.NopCloser(tr.spool.Reader()), Buffered: true}
		}
		a := attempt.New(ctx, tm, rb != nil)
		a.Flush, a.MaxHeader, a.Server = &st.rw, st.maxResponseHeader, st.localAddr()
		areq := req.WithContext(a.Context())
		if rb != nil {
			rb.Attach(a)
			areq.Body = rb
		}
		if areq.URL.Host != st.ep.Address {
			u := *req.URL
			u.Host = st.ep.Address
			areq.URL = &u
		}
		tr.attStart = h.now()
		res, err := st.exchange(areq, a)
		if err == nil {
			err = checkHead(st, res) // proxy-buffer-size (respbuffer.go)
		}
		if err == nil {
			// The header is in; body reads set their own deadline.
			a.HeaderIn()
			if c := statusCondition(res.StatusCode); c != 0 && tm.Next&c != 0 && h.mayRetry(st, req, rb, tm, start, false) {
				if prev := st.ep; h.retryPick(st) != nil {
					h.logger.Debug("retrying on another endpoint", "upstream", prev.Address, "status", res.StatusCode, "next", st.ep.Address, "request_id", st.reqID)
					io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
					res.Body.Close()
					a.Release()
					continue
				}
			}
			st.obs.upstream, st.obs.upFailed, st.obs.upStatus = true, false, res.StatusCode
			st.obs.header = h.now().Sub(tr.attStart)
			st.obs.connect = a.ConnectTime()
			h.respond(st, res, a)
			return res, nil
		}
		timedOut := a.TimedOut()
		a.Release()
		if timedOut {
			err = attempt.ErrTimeout
		}
		dial := exchange.IsDialError(err)
		if c := errorCondition(err, timedOut); tm.Next&c != 0 && h.mayRetry(st, req, rb, tm, start, dial) {
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
func (h *Handler) respond(st *reqState, res *http.Response, a *attempt.Attempt) {
	tr := &st.tr
	tr.att = a
	if res.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection (WebSocket) is closed after
		// proxy-read-timeout without data from the upstream, as nginx
		// does; ReverseProxy needs the body to stay writable.
		if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
			a.CloseOnFire(rwc)
			res.Body = attempt.UpgradeBody{ReadWriteCloser: rwc, A: a}
		}
		if tr.pick.SetCookie() != "" {
			res.Header.Add("Set-Cookie", tr.pick.SetCookie())
		}
		return
	}
	tr.resBody = attempt.RespBody{RC: res.Body, A: a, Ctx: st.tr.inCtx(res.Request)}
	// ReverseProxy flushes bodies of unknown length and event streams
	// itself, after every write and once from a timer goroutine at the
	// start; a flush of ours would then race with that timer on the
	// client's writer. Ours are for the bodies it leaves unflushed.
	ownFlush := !reverseProxyFlushes(res)
	if !ownFlush {
		a.Flush = nil // no flush from the transport's UpstreamWait either
	}
	if p := st.rt.Policy; p != nil && p.Limits != nil && p.Limits.Rate > 0 {
		tr.resBody.Rate, tr.resBody.After, tr.resBody.Start = p.Limits.Rate, p.Limits.RateAfter, time.Now()
		// Paced bytes must leave as they are paced.
		if ownFlush {
			tr.resBody.Flush = &st.rw
		}
	}
	if ownFlush && !upstream.WaitsUpstream(res.Body) {
		// This transport does not say when the upstream makes us wait,
		// so every read may: flush before each (as FlushInterval -1
		// did, without its timer).
		tr.resBody.Flush = &st.rw
	}
	res.Body = &tr.resBody
	if tr.pick.SetCookie() != "" {
		res.Header.Add("Set-Cookie", tr.pick.SetCookie())
	}
	// nginx honours X-Accel-Buffering from the upstream and does not pass
	// it on (proxy_hide_header's defaults).
	if v, ok := res.Header["X-Accel-Buffering"]; ok {
		switch strings.ToLower(strings.Join(v, "")) {
		case "yes":
			st.rw.HoldFlush = true
		case "no":
			st.rw.HoldFlush = false
		}
		delete(res.Header, "X-Accel-Buffering")
	}
}

func (tr *trafficReq) inCtx(r *http.Request) context.Context {
	if in := tr.pick.In(); in != nil {
		return in.Context()
	}
	return r.Context()
}

// mayRetry says whether another endpoint may be tried: tries and time
// left, the client still there, and the request safe to send again:
// a body held in memory or not read at all, and POST, LOCK or PATCH only if they
// never reached an upstream (or with non_idempotent), as nginx.
func (h *Handler) mayRetry(st *reqState, req *http.Request, rb *attempt.ReqBody, tm *routecfg.Timeouts, start time.Time, dial bool) bool {
	tries := tm.Tries
	if tries == 0 {
		tries = len(h.upstreams.Endpoints(st.tr.pick.Pool()))
	}
	switch {
	case st.tr.pick.Tried() >= tries:
		return false
	case tm.NextTimeout > 0 && h.now().Sub(start) >= tm.NextTimeout:
		return false
	case st.tr.inCtx(req).Err() != nil:
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
func (h *Handler) retryPick(st *reqState) *upstream.Endpoint {
	ep := h.balancer.Next(&st.tr.pick, true)
	if tm := st.timeouts(); tm.Again || tm.Backoff > 0 {
		if ep == nil && tm.Again {
			if ep = h.upstreams.Pick(st.tr.pick.Pool()); ep != nil {
				st.tr.pick.Again(ep)
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
	case timedOut || exchange.IsTimeout(err):
		return routecfg.NextTimeout
	case strings.Contains(err.Error(), "malformed HTTP") || headTooBig(err):
		return routecfg.NextInvalidHeader
	}
	return routecfg.NextError
}

// spoolRequest reads the request body whole into tr.spool
// (proxy-request-buffering on, a body larger than client-body-buffer-size)
// and sets req up to send it with a Content-Length, as nginx does once it
// has buffered a body.
func (tr *trafficReq) spoolRequest(req *http.Request, src io.Reader, memMax int64) error {
	sp, err := spool.Read(src, memMax)
	if err != nil {
		return err
	}
	tr.spool = sp
	req.ContentLength, req.TransferEncoding = sp.Size(), nil
	return nil
}
