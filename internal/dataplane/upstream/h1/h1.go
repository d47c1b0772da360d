// Package h1 is moat's plain-HTTP/1.1 exchanger for bodiless requests.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
)

// Transport carries the common case, a plain-HTTP/1.1 request without a
// body, on the caller's goroutine: it takes an idle connection to the
// endpoint (or dials one), writes the request head with one write, reads
// the response with http.ReadResponse (so framing and smuggling rules stay
// the standard library's) and hands the body over; the connection goes
// back to the idle list when the body has been read to its end and both
// sides allow reuse. http.Transport does the same exchange through a read
// and a write goroutine per connection, two channel hand-offs per request
// that cost about a sixth of the proxy's CPU (docs/performance.md).
//
// Everything else goes to the fallback transport: requests with a body
// (they need full-duplex sending, 100-continue and replay, which
// http.Transport does well and which are a minority of proxied
// requests), upgrades (WebSocket) and non-http schemes.
type Transport struct {
	fallback       exchange.Std
	dialer         *exchange.Dialer
	maxIdle        int
	idleTimeout    time.Duration
	headerTimeout  time.Duration
	maxHeaderBytes int64

	mu    sync.RWMutex
	hosts map[string]*idleList

	readers sync.Pool // *bufio.Reader, held while a response is read
	writers sync.Pool // *bufio.Writer, held while a request head is written

	sweepArmed atomic.Bool
	sweepTimer *time.Timer
}

// idleList is one endpoint's idle connections, most recently used last,
// and the count of its connections in use.
type idleList struct {
	mu     sync.Mutex
	conns  []*h1Conn
	active int
	// dead: the sweeper dropped this list from the map; a connection
	// put back here would never be found again, so it is closed.
	dead bool
}

// defaultIdleConnTimeout applies when the fallback sets none
// (upstream.DefaultIdleConnTimeout).
const defaultIdleConnTimeout = 90 * time.Second

const (
	// probeAfter: a connection idle for longer is probed before use.
	// http.Transport (and nginx, through epoll) watch idle connections
	// and drop those the upstream closes or answers unasked (a 408 sent
	// at its keep-alive timeout, which would otherwise be read as the
	// answer to the next request). Connections reused sooner are in the
	// hot path and skip the syscall; keep-alive timeouts are seconds.
	probeAfter = time.Second

	h1BufferSize = 4 << 10
	// max1xx bounds interim responses that no one looks at.
	max1xx = 5
)

// New returns an Transport that sends what it does not
// handle to fallback, with fallback's idle-connection and response
// header limits; it dials with connectTimeout (0: the default) unless
// the attempt sets one, as fallback's dialer (NewTransport) does.
func New(fallback *http.Transport, connectTimeout time.Duration) *Transport {
	t := &Transport{
		fallback:       exchange.Std{RoundTripper: fallback},
		dialer:         exchange.NewDialer(connectTimeout),
		maxIdle:        fallback.MaxIdleConnsPerHost,
		idleTimeout:    fallback.IdleConnTimeout,
		headerTimeout:  fallback.ResponseHeaderTimeout,
		maxHeaderBytes: fallback.MaxResponseHeaderBytes,
		hosts:          map[string]*idleList{},
	}
	if t.maxIdle <= 0 {
		t.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	if t.idleTimeout <= 0 {
		t.idleTimeout = defaultIdleConnTimeout
	}
	if t.maxHeaderBytes <= 0 {
		t.maxHeaderBytes = 1 << 20
	}
	t.sweepTimer = time.AfterFunc(time.Hour, t.sweep)
	t.sweepTimer.Stop()
	return t
}

// WaitsUpstream reports whether body is an Transport response body,
// which calls Attempt.UpstreamWait before it blocks. Bodies of other
// exchangers give no such signal.
func WaitsUpstream(body io.Reader) bool {
	_, ok := body.(*h1Body)
	return ok || body == http.NoBody
}

// Fallback is the transport that carries what t does not.
func (t *Transport) Fallback() http.RoundTripper { return t.fallback.RoundTripper }

// RoundTrip implements http.RoundTripper (error pages, tests): an
// exchange without an Attempt.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.Exchange(req, nil)
}

// Exchange implements Exchanger.
func (t *Transport) Exchange(req *http.Request, hook exchange.Attempt) (*http.Response, error) {
	if !h1Eligible(req) {
		return t.fallback.Exchange(req, hook)
	}
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	ctx := req.Context()
	// A reused connection the upstream has closed meanwhile fails before
	// any byte of the answer; http.Transport retries such requests on
	// another connection when they are safe to send again, and so do
	// we. Others are checked before use instead.
	replayable := isReplayable(req)
	for {
		c, reused, err := t.get(ctx, req.URL.Host, !replayable, hook)
		if err != nil {
			return nil, err
		}
		res, stale, err := c.exchange(ctx, req, hook)
		if err == nil {
			return res, nil
		}
		if reused && stale && replayable && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

// h1Eligible: plain HTTP, no request body, no protocol upgrade, no
// CONNECT.
func h1Eligible(req *http.Request) bool {
	return req.URL != nil && req.URL.Scheme == "http" && req.Method != http.MethodConnect &&
		(req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 &&
		len(req.TransferEncoding) == 0 && req.Header["Upgrade"] == nil
}

// validateRequest applies http.Transport's checks, so an invalid header
// is refused rather than written.
func validateRequest(req *http.Request) error {
	if req.URL.Host == "" {
		return errors.New("http: no Host in request URL")
	}
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) {
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// isReplayable is http.Request's rule for sending a request again.
func isReplayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}

// get returns an idle connection to addr, most recently used first, or a
// new one. check asks for a liveness probe of any idle connection, not
// only of those idle for probeAfter.
func (t *Transport) get(ctx context.Context, addr string, check bool, at exchange.Attempt) (*h1Conn, bool, error) {
	l := t.list(addr)
	var now time.Time
	for {
		l.mu.Lock()
		if l.dead {
			// Swept since list returned it: take the endpoint's new one.
			l.mu.Unlock()
			l = t.list(addr)
			continue
		}
		n := len(l.conns)
		if n == 0 {
			l.active++ // the one dialed below
			l.mu.Unlock()
			break
		}
		c := l.conns[n-1]
		l.conns[n-1] = nil
		l.conns = l.conns[:n-1]
		l.active++
		l.mu.Unlock()
		if now.IsZero() {
			now = time.Now()
		}
		idle := now.Sub(c.idleAt)
		if idle >= t.idleTimeout || ((check || idle >= probeAfter) && !c.alive()) {
			c.close()
			continue
		}
		return c, true, nil
	}
	nc, err := t.dialer.Dial(ctx, "tcp", addr, at)
	if err != nil {
		l.mu.Lock()
		l.active--
		l.mu.Unlock()
		return nil, false, err
	}
	return newH1Conn(t, l, nc), false, nil
}

// list returns addr's idle list, creating it on first use.
func (t *Transport) list(addr string) *idleList {
	t.mu.RLock()
	l := t.hosts[addr]
	t.mu.RUnlock()
	if l != nil {
		return l
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if l = t.hosts[addr]; l == nil {
		l = &idleList{}
		t.hosts[addr] = l
	}
	return l
}

// put makes c idle, or closes it when its endpoint has enough idle ones.
func (t *Transport) put(c *h1Conn) {
	c.idleAt = time.Now()
	l := c.list
	l.mu.Lock()
	l.active--
	if l.dead || len(l.conns) >= t.maxIdle {
		l.mu.Unlock()
		c.Conn.Close()
		return
	}
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	if !t.sweepArmed.Load() && t.sweepArmed.CompareAndSwap(false, true) {
		t.sweepTimer.Reset(t.sweepInterval())
	}
}

// close closes a connection in use for good.
func (c *h1Conn) close() {
	c.Conn.Close()
	l := c.list
	l.mu.Lock()
	l.active--
	l.mu.Unlock()
}

func (t *Transport) sweepInterval() time.Duration { return max(t.idleTimeout/3, time.Second) }

// sweep closes connections idle for longer than the idle timeout and
// forgets endpoints without idle connections; it runs only while some
// connection is idle, so an idle proxy has no timer ticking. Without it,
// idle connections the upstream closed would linger in CLOSE_WAIT until
// their next use.
func (t *Transport) sweep() {
	// Disarmed before the scan: a put during the scan re-arms it.
	t.sweepArmed.Store(false)
	now := time.Now()
	remain := false
	t.mu.Lock()
	for addr, l := range t.hosts {
		l.mu.Lock()
		keep := l.conns[:0]
		for _, c := range l.conns {
			if now.Sub(c.idleAt) >= t.idleTimeout {
				c.Conn.Close()
			} else {
				keep = append(keep, c)
			}
		}
		clear(l.conns[len(keep):])
		l.conns = keep
		if len(keep) == 0 && l.active == 0 {
			l.dead = true
			delete(t.hosts, addr)
		} else if len(keep) > 0 {
			remain = true
		}
		l.mu.Unlock()
	}
	t.mu.Unlock()
	if remain && t.sweepArmed.CompareAndSwap(false, true) {
		t.sweepTimer.Reset(t.sweepInterval())
	}
}

// CloseIdleConnections closes every idle connection, the fallback's too.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	for addr, l := range t.hosts {
		l.mu.Lock()
		for _, c := range l.conns {
			c.Conn.Close()
		}
		l.conns, l.dead = nil, true
		l.mu.Unlock()
		delete(t.hosts, addr)
	}
	t.mu.Unlock()
	if ci, ok := t.fallback.RoundTripper.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (t *Transport) getReader(r io.Reader) *bufio.Reader {
	if br, ok := t.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, h1BufferSize)
}

func (t *Transport) putReader(br *bufio.Reader) {
	br.Reset(nil)
	t.readers.Put(br)
}

func (t *Transport) getWriter(w io.Writer) *bufio.Writer {
	if bw, ok := t.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, h1BufferSize)
}

func (t *Transport) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	t.writers.Put(bw)
}

// h1Conn is one upstream connection. Between exchanges it sits in its
// endpoint's idle list; during one it belongs to the request's goroutine.
// It is the io.Reader under the response's bufio.Reader.
type h1Conn struct {
	net.Conn
	t      *Transport
	list   *idleList
	raw    syscall.RawConn // nil when the connection has none
	idleAt time.Time

	interruptFn func() // c.interrupt, bound once

	// Per exchange.
	ctx        context.Context
	stop       func() bool // stops the context's interrupt
	br         *bufio.Reader
	hook       exchange.Attempt // asked to flush before waiting, in the body
	inHeader   bool             // reading the response header: headerLeft bounds it
	headerLeft int64
	gotByte    bool // some byte of the answer arrived

	// tryRead's arguments and results, kept here so that passing the
	// method value to RawConn.Read does not allocate per call.
	tryFn  func(uintptr) bool
	tryBuf []byte
	tryN   int
	tryErr error
}

func newH1Conn(t *Transport, l *idleList, nc net.Conn) *h1Conn {
	c := &h1Conn{Conn: nc, t: t, list: l}
	c.interruptFn = c.interrupt
	if c.raw = rawConn(nc); c.raw != nil {
		c.tryFn = c.tryRead
	}
	return c
}

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// interrupt runs when the request's context ends: a blocked read or write
// returns, and the connection is never reused.
func (c *h1Conn) interrupt() { c.Conn.SetDeadline(aLongTimeAgo) }

// exchange writes req and reads the response head. stale reports an
// error before any byte of the answer, the sign of an idle connection
// the upstream had closed.
func (c *h1Conn) exchange(ctx context.Context, req *http.Request, hook exchange.Attempt) (res *http.Response, stale bool, err error) {
	t := c.t
	c.ctx, c.gotByte = ctx, false
	c.stop = context.AfterFunc(ctx, c.interruptFn)
	bw := t.getWriter(c.Conn)
	err = writeHead(bw, req)
	if err == nil {
		err = bw.Flush()
	}
	t.putWriter(bw)
	if err != nil {
		return nil, true, c.fail(err)
	}

	headerMax := t.maxHeaderBytes
	if hook != nil {
		if m := hook.MaxResponseHeaderBytes(); m > 0 {
			headerMax = m
		}
	}
	if t.headerTimeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(t.headerTimeout))
	}
	c.br = t.getReader(c)
	c.inHeader = true
	for n1xx := 0; ; {
		c.headerLeft = headerMax
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.headerLeft <= 0 {
				err = fmt.Errorf("net/http: upstream response header larger than %d bytes", headerMax)
			} else if t.headerTimeout > 0 && ctx.Err() == nil && isTimeoutErr(err) {
				err = headerTimeoutError{}
			}
			return nil, !c.gotByte, c.fail(err)
		}
		code := res.StatusCode
		if code < 100 || code > 199 {
			break
		}
		if code == http.StatusSwitchingProtocols {
			// Upgrades never take this path: the request asked for none.
			return nil, false, c.fail(errors.New("net/http: upstream switched protocols without an Upgrade request"))
		}
		// Interim answers (103 Early Hints) are passed on by
		// ReverseProxy's trace, as with http.Transport.
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, false, c.fail(err)
			}
		} else if n1xx++; n1xx > max1xx {
			return nil, false, c.fail(errors.New("net/http: too many 1xx informational responses"))
		}
	}
	c.inHeader = false
	if t.headerTimeout > 0 {
		c.Conn.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			c.interrupt() // the context ended before the deadline was cleared
		}
	}
	reuse := !res.Close && !req.Close
	if res.Body == http.NoBody {
		// HEAD, 204, 304 and empty bodies: the exchange is over.
		c.done(reuse)
		return res, false, nil
	}
	c.hook = hook
	res.Body = &h1Body{c: c, rc: res.Body, reuse: reuse}
	return res, false, nil
}

// fail ends the exchange on an error: the connection is closed. An error
// caused by the context's end is reported as the context's cause.
func (c *h1Conn) fail(err error) error {
	c.stop()
	// The reader is not pooled: a read of the broken exchange may still
	// be using it.
	c.close()
	if c.ctx.Err() != nil {
		return context.Cause(c.ctx)
	}
	return err
}

// done ends an exchange whose response was read whole: the connection
// goes back to the idle list when reuse allows it, nothing of another
// answer is buffered (the upstream sent more than it framed) and the
// context's interrupt has not run.
func (c *h1Conn) done(reuse bool) {
	stopped := c.stop()
	clean := c.br.Buffered() == 0
	c.t.putReader(c.br)
	c.br, c.hook, c.ctx, c.stop = nil, nil, nil, nil
	if reuse && stopped && clean {
		c.t.put(c)
		return
	}
	c.close()
}

// Read is the bufio.Reader's source: the response header is bounded by
// headerLeft, and in the body the hook is told before a read would wait
// for the upstream.
func (c *h1Conn) Read(p []byte) (int, error) {
	if c.inHeader {
		// As http.Transport: the error comes on the read after the
		// limit, so a header that ends exactly at it still parses.
		if c.headerLeft <= 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(p)) > c.headerLeft {
			p = p[:c.headerLeft]
		}
		n, err := c.Conn.Read(p)
		c.headerLeft -= int64(n)
		if n > 0 {
			c.gotByte = true
		}
		return n, err
	}
	if c.hook != nil && c.raw != nil {
		if n, err, ok := c.readNow(p); ok {
			return n, err
		}
		c.hook.UpstreamWait()
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.gotByte = true
	}
	return n, err
}

var errHeaderTooLarge = errors.New("response header too large")

// readNow reads what the socket already holds without waiting; ok is
// false when it holds nothing (or the attempt failed: the blocking read
// that follows reports the error properly).
func (c *h1Conn) readNow(p []byte) (int, error, bool) {
	c.tryBuf, c.tryN, c.tryErr = p, 0, nil
	err := c.raw.Read(c.tryFn)
	c.tryBuf = nil
	if err != nil || c.tryErr != nil {
		return 0, nil, false
	}
	if c.tryN == 0 {
		return 0, io.EOF, true
	}
	return c.tryN, nil, true
}

// alive probes an idle connection without waiting: the upstream has
// neither closed it nor sent anything unasked.
func (c *h1Conn) alive() bool {
	if c.raw == nil {
		return true
	}
	var b [1]byte
	c.tryBuf, c.tryN, c.tryErr = b[:], 0, nil
	err := c.raw.Read(c.tryFn)
	c.tryBuf = nil
	return err == nil && wouldBlock(c.tryErr)
}

// h1Body is the response body: it gives the connection back when the body
// ends and closes it when the body is abandoned or fails.
type h1Body struct {
	c     *h1Conn
	rc    io.ReadCloser
	reuse bool

	mu   sync.Mutex
	done bool
	err  error
}

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	if err != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.done {
			// Closed meanwhile (by another goroutine).
			return n, b.err
		}
		b.done = true
		if err == io.EOF {
			b.err = io.EOF
			b.c.done(b.reuse)
		} else {
			b.err = b.c.fail(err)
			err = b.err
		}
	}
	return n, err
}

// Close abandons the body if it has not ended: the connection is closed,
// never drained (the rest may be large or endless).
func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		b.err = errBodyClosed
		b.c.fail(errBodyClosed) //nolint:errcheck // the reader gets errBodyClosed
	}
	return nil
}

var errBodyClosed = errors.New("http: read on closed response body")

// headerTimeoutError is ResponseHeaderTimeout's error, a net.Error that
// times out, as http.Transport's.
type headerTimeoutError struct{}

func (headerTimeoutError) Error() string   { return "net/http: timeout awaiting response headers" }
func (headerTimeoutError) Timeout() bool   { return true }
func (headerTimeoutError) Temporary() bool { return true }

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
