package h1serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/h1parse"
)

// bgReadDelay is how long a request may wait for its response before
// the connection is watched for the client going away (which cancels
// the request's context, and so the upstream exchange). Faster requests
// pay nothing for the watch; net/http starts one per request.
const bgReadDelay = 20 * time.Millisecond

// maxDiscard is how much of a request body the handler left unread is
// read and dropped to keep the connection (net/http's 256 KiB); beyond
// it the connection closes.
const maxDiscard = 256 << 10

// aLongTimeAgo is a deadline that makes a pending Read return at once.
var aLongTimeAgo = time.Unix(1, 0)

const bufSize = 4 << 10

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	tls    *tls.ConnectionState
	remote string
	idle   atomic.Bool // waiting for a request: Shutdown may close it
	// born is when the connection was accepted (UnixNano), until the
	// first byte of its first request; Shutdown closes such a connection
	// once it is older than Server.NewConnGrace.
	born   atomic.Int64
	ctx    context.Context
	cancel context.CancelFunc // the client went away, or the conn ended
	cr     connReader
	br     *bufio.Reader
	bw     *bufio.Writer

	hijacked bool
}

func (c *conn) serve() {
	s := c.s
	defer func() {
		if !c.hijacked {
			c.nc.Close()
			s.setState(c.nc, http.StateClosed)
		}
		s.forget(c)
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		if !c.handshake(tc) {
			return
		}
		if c.tls.NegotiatedProtocol == "h2" && s.h2 != nil {
			c.serveH2(c.nc, false)
			return
		}
	}
	c.remote = c.nc.RemoteAddr().String()
	c.ctx, c.cancel = context.WithCancel(s.BaseContext)
	defer c.cancel()
	c.cr.c = c
	c.cr.cond.L = &c.cr.mu
	c.br = bufio.NewReaderSize(&c.cr, bufSize)
	c.bw = bufio.NewWriterSize(c.nc, bufSize)
	var h http.Handler
	for first := true; ; first = false {
		if !c.awaitRequest(first) {
			return
		}
		if first && s.H2C && c.tls == nil && s.h2 != nil && c.sawPreface() {
			c.serveH2(&bufferedConn{Conn: c.nc, r: c.br}, false)
			return
		}
		if h == nil {
			h = s.Handler(c.nc)
		}
		if !c.serveRequest(h) {
			return
		}
	}
}

// handshake runs the TLS handshake under the header timeout.
func (c *conn) handshake(tc *tls.Conn) bool {
	s := c.s
	ctx := s.BaseContext
	if d := s.ReadHeaderTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader[:]) {
			// nginx: "The plain HTTP request was sent to HTTPS port".
			_, _ = io.WriteString(re.Conn, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 48\r\n\r\nThe plain HTTP request was sent to HTTPS port.\r\n")
			re.Conn.Close()
		}
		s.Log.Debug("TLS handshake error", "client", c.nc.RemoteAddr().String(), "error", err.Error())
		return false
	}
	st := tc.ConnectionState()
	c.tls = &st
	return true
}

func looksLikeHTTP(h []byte) bool {
	switch string(h) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// clientPreface is HTTP/2's connection preface.
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sawPreface reports whether the connection starts with HTTP/2's preface
// (it is left in the buffer for the HTTP/2 server to read).
func (c *conn) sawPreface() bool {
	b, _ := c.br.Peek(4)
	if string(b) != clientPreface[:4] {
		return false
	}
	b, _ = c.br.Peek(len(clientPreface))
	return string(b) == clientPreface
}

// bufferedConn is a connection whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// awaitRequest waits for the first byte of the next request: up to the
// keep-alive timeout (the header timeout for the first request), then
// arms the header timeout. false when the connection is done.
func (c *conn) awaitRequest(first bool) bool {
	s := c.s
	if c.br.Buffered() > 0 {
		c.setHeaderDeadline()
		return true
	}
	wait := s.IdleTimeout
	if first || wait <= 0 {
		wait = s.ReadHeaderTimeout
	}
	if !first {
		c.idle.Store(true)
		s.setState(c.nc, http.StateIdle)
		if s.closing.Load() {
			return false
		}
	}
	if wait > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(wait))
	}
	_, err := c.br.Peek(1)
	c.idle.Store(false)
	c.born.Store(0)
	if err != nil {
		return false
	}
	if !first {
		s.setState(c.nc, http.StateActive)
	}
	c.setHeaderDeadline()
	return true
}

func (c *conn) setHeaderDeadline() {
	if d := c.s.ReadHeaderTimeout; d > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
}

// serveRequest reads and answers one request; false when the connection
// must not serve another.
func (c *conn) serveRequest(h http.Handler) bool {
	s := c.s
	req, err := h1parse.ReadRequest(c.br, s.Limits)
	if err != nil {
		c.badRequest(err)
		return false
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	req.TLS = c.tls
	w := newResponse(c, req)
	if c.serveHandler(h, w, req) {
		return false // hijacked, or the handler panicked
	}
	w.finish()
	if c.hijacked {
		return false
	}
	c.cr.stopWatch()
	w.body.end()
	keep := !w.closeAfter && !s.DisableKeepAlives && !s.closing.Load() && w.err == nil
	if keep && !w.body.drain() {
		keep = false
	}
	if !keep {
		if !w.body.finished() && w.err == nil {
			c.lingeringClose()
		}
		return false
	}
	return true
}

// serveHandler runs h; true when the connection must end without a
// response being finished (the handler hijacked it or panicked).
func (c *conn) serveHandler(h http.Handler, w *response, req *http.Request) (abort bool) {
	defer func() {
		if v := recover(); v != nil {
			abort = true
			if v == http.ErrAbortHandler {
				return
			}
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.Log.Error("panic serving request", "client", c.remote, "panic", fmt.Sprint(v), "stack", string(buf))
		}
	}()
	if w.body == nil {
		c.cr.watchAfter(bgReadDelay)
	}
	h.ServeHTTP(w, req)
	return c.hijacked
}

// badRequest answers a request the parser refused, then the connection
// closes. A connection that ended or timed out gets no answer.
func (c *conn) badRequest(err error) {
	var pe *Error
	if !errors.As(err, &pe) {
		if !errors.Is(err, io.EOF) && !isTimeout(err) {
			c.s.Log.Debug("reading request", "client", c.remote, "error", err.Error())
		}
		return
	}
	c.s.Log.Debug("bad request", "client", c.remote, "status", pe.Status, "reason", pe.Reason)
	body := strconv.Itoa(pe.Status) + " " + http.StatusText(pe.Status) + "\n"
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n", pe.Status, http.StatusText(pe.Status), len(body))
	c.bw.Write(c.s.dateHeader())
	c.bw.WriteString("\r\n" + body)
	c.bw.Flush()
	c.lingeringClose()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Lingering close (nginx's lingering_close, lingering_time 30 s): how
// long and how much of what a client still sends after its answer is
// read and dropped before the connection closes.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

// lingeringClose ends the sending side, then reads and drops what the
// client still sends until it closes (or lingerTime, lingerBytes), so
// that its unread request body does not turn the close into a reset that
// reaches the client before it has read the answer (a 413 to a large
// upload).
func (c *conn) lingeringClose() {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.nc.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.nc, lingerBytes)
}

// connReader is the reader under the connection's bufio.Reader. While a
// request waits on its handler it may watch the connection with a read
// of one byte, which sees the client close (and cancels the connection's
// context) or the start of a pipelined request (kept for the next read).
type connReader struct {
	c     *conn
	mu    sync.Mutex
	cond  sync.Cond
	timer *time.Timer
	armed bool // a watch may start
	inBG  bool // a watch read is in progress
	abort bool // stopWatch is ending it
	has   bool // b holds the byte the watch read
	b     [1]byte
	err   error // the watch's read error, for the next Read
}

func (cr *connReader) Read(p []byte) (int, error) {
	cr.mu.Lock()
	if cr.inBG {
		cr.mu.Unlock()
		return 0, errors.New("h1serve: concurrent read")
	}
	if cr.has {
		cr.has = false
		p[0] = cr.b[0]
		cr.mu.Unlock()
		return 1, nil
	}
	if err := cr.err; err != nil {
		cr.mu.Unlock()
		return 0, err
	}
	cr.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	return cr.c.nc.Read(p)
}

// watchAfter starts watching the connection after d, unless stopWatch
// comes first.
func (cr *connReader) watchAfter(d time.Duration) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.has || cr.err != nil {
		return
	}
	cr.armed = true
	if cr.timer == nil {
		cr.timer = time.AfterFunc(d, cr.watch)
	} else {
		cr.timer.Reset(d)
	}
}

func (cr *connReader) watch() {
	cr.mu.Lock()
	if !cr.armed || cr.inBG || cr.has || cr.err != nil {
		cr.mu.Unlock()
		return
	}
	cr.inBG = true
	cr.mu.Unlock()
	n, err := cr.c.nc.Read(cr.b[:])
	cr.mu.Lock()
	if n == 1 {
		cr.has = true
	}
	if err != nil && !(cr.abort && isTimeout(err)) {
		cr.err = err
		cr.c.cancel() // the client is gone
	}
	cr.inBG = false
	cr.cond.Broadcast()
	cr.mu.Unlock()
}

// stopWatch ends a watch: the connection is read by the server again.
func (cr *connReader) stopWatch() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if !cr.armed {
		return
	}
	cr.armed = false
	if cr.timer != nil {
		cr.timer.Stop()
	}
	if !cr.inBG {
		return
	}
	cr.abort = true
	_ = cr.c.nc.SetReadDeadline(aLongTimeAgo)
	for cr.inBG {
		cr.cond.Wait()
	}
	cr.abort = false
	_ = cr.c.nc.SetReadDeadline(time.Time{})
}
