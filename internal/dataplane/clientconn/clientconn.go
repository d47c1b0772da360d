// Package clientconn holds the limits moat puts on client connections
// below HTTP: how many may be open at once (ingress-nginx's
// max-worker-connections), what happens to one more (503 on HTTP, closed
// on HTTPS), accept errors such as EMFILE (retried, counted and logged at
// WARN, never only at debug), and how long a write to a client that reads
// nothing may block (nginx's send_timeout).
//
// A Gate is shared by the HTTP and HTTPS listeners; each wraps its
// net.Listener with Listen. Accepted connections are *Conn, which give
// their slot back when closed, whoever closes them (the HTTP server, a
// hijacking handler, the TLS passthrough forwarder).
package clientconn

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// Gate counts the open client connections of a process and holds the
// limits, which change with the configuration (atomics: Accept and
// Write read them, Apply writes them).
type Gate struct {
	open        atomic.Int64
	max         atomic.Int64
	sendTimeout atomic.Int64 // ns; 0: none
	refusing    atomic.Int32 // connections being answered 503

	log *slog.Logger
	// OnRefused and OnAcceptError count events (metrics); nil: not counted.
	onRefused     func(listener string)
	onAcceptError func(listener string)
	lastWarn      atomic.Int64 // unix ns of the last accept-error WARN
	suppressed    atomic.Int64 // accept errors not logged since
	lastLimitWarn atomic.Int64
}

// Options configures a Gate.
type Options struct {
	Logger *slog.Logger
	// OnRefused is called for each connection refused at the limit,
	// OnAcceptError for each failed accept; listener is "http" or "https".
	OnRefused, OnAcceptError func(listener string)
}

// NewGate returns a Gate without limits until Set is called.
func NewGate(o Options) *Gate {
	g := &Gate{log: o.Logger, onRefused: o.OnRefused, onAcceptError: o.OnAcceptError}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// Set changes the connection limit (0: none) and the send timeout (0:
// none). Connections over a lowered limit stay open; new ones wait for
// the count to drop.
func (g *Gate) Set(maxConns int, sendTimeout time.Duration) {
	g.max.Store(int64(maxConns))
	g.sendTimeout.Store(int64(sendTimeout))
}

// Open is the number of open client connections.
func (g *Gate) Open() int64 { return g.open.Load() }

// Listener is a net.Listener whose Accept applies the Gate.
type Listener struct {
	net.Listener
	g    *Gate
	name string
	tls  bool
}

// Listen wraps ln. name labels metrics and logs ("http", "https"); a TLS
// listener closes refused connections (no TLS has been spoken yet, so no
// HTTP answer can be given), a plain one answers them 503.
func (g *Gate) Listen(ln net.Listener, name string, tls bool) *Listener {
	return &Listener{Listener: ln, g: g, name: name, tls: tls}
}

// Accept returns the next connection under the limit. Failed accepts
// (EMFILE, ENFILE, ECONNABORTED...) are retried with a growing pause
// (5 ms to 1 s, as net/http's server), counted and logged; only a closed
// listener ends it.
func (l *Listener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.g.acceptFailed(l.name, err)
			if pause == 0 {
				pause = 5 * time.Millisecond
			} else if pause *= 2; pause > time.Second {
				pause = time.Second
			}
			time.Sleep(pause)
			continue
		}
		pause = 0
		if m := l.g.max.Load(); m > 0 && l.g.open.Load() >= m {
			l.g.refuse(l.name, c, l.tls)
			continue
		}
		l.g.open.Add(1)
		return &Conn{Conn: c, g: l.g}, nil
	}
}

// warnEvery bounds how often accept errors and refusals are logged.
const warnEvery = 10 * time.Second

func (g *Gate) acceptFailed(name string, err error) {
	if g.onAcceptError != nil {
		g.onAcceptError(name)
	}
	if !g.mayWarn(&g.lastWarn) {
		g.suppressed.Add(1)
		return
	}
	attrs := []any{"listener", name, "error", err, "suppressed_since_last", g.suppressed.Swap(0)}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		attrs = append(attrs, "hint", "the open-file limit is reached: raise it (ulimit -n) or lower max-worker-connections")
	}
	g.log.Warn("accepting a client connection failed; retrying", attrs...)
}

// mayWarn reports whether warnEvery has passed since *last, and if so
// claims the slot.
func (g *Gate) mayWarn(last *atomic.Int64) bool {
	now := time.Now().UnixNano()
	prev := last.Load()
	return now-prev >= int64(warnEvery) && last.CompareAndSwap(prev, now)
}

// maxRefusing bounds the refused connections being answered at once; past
// it they are closed without an answer, so a flood cannot hold more file
// descriptors than the limit plus this.
const maxRefusing = 64

// response503 is the whole answer to a connection over the limit.
const response503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 58\r\nConnection: close\r\n\r\n" +
	"503 Service Unavailable: too many open client connections\n"

func (g *Gate) refuse(name string, c net.Conn, tls bool) {
	if g.onRefused != nil {
		g.onRefused(name)
	}
	if g.mayWarn(&g.lastLimitWarn) {
		g.log.Warn("client connection limit reached (max-worker-connections); refusing new connections",
			"listener", name, "limit", g.max.Load())
	}
	if tls || g.refusing.Add(1) > maxRefusing {
		if !tls {
			g.refusing.Add(-1)
		}
		c.Close()
		return
	}
	go func() {
		defer g.refusing.Add(-1)
		defer c.Close()
		// Answer, then read what the client sent until it closes (at most
		// a second): closing with unread bytes would reset the connection
		// and could lose the answer.
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte(response503)); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		var buf [4096]byte
		for n := 0; n < 64<<10; {
			k, err := c.Read(buf[:])
			n += k
			if err != nil {
				return
			}
		}
	}()
}

// Conn is an accepted client connection: it frees its slot in the Gate
// once closed and bounds each write by the send timeout.
type Conn struct {
	net.Conn
	g      *Gate
	closed atomic.Bool
	// armed is when Write last set the write deadline (unix ns); 0 when
	// someone else set it since.
	armed atomic.Int64
	// requests counts the requests served on this connection
	// (keep-alive-requests).
	requests atomic.Int64
}

// Write sets the write deadline to the send timeout from now before
// writing, as nginx's send_timeout bounds the wait between two writes. To
// keep a deadline update off most writes it is renewed only once a
// quarter of the timeout has passed, so a stalled write ends between
// three quarters of the timeout and the timeout.
func (c *Conn) Write(p []byte) (int, error) {
	if t := c.g.sendTimeout.Load(); t > 0 {
		now := time.Now()
		if ns := now.UnixNano(); ns-c.armed.Load() > t/4 {
			_ = c.Conn.SetWriteDeadline(now.Add(time.Duration(t)))
			c.armed.Store(ns)
		}
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline is the caller's deadline until the next Write renews
// the send timeout.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.armed.Store(0)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines; see SetWriteDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.armed.Store(0)
	return c.Conn.SetDeadline(t)
}

// Close closes the connection and frees its slot (once).
func (c *Conn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.g.open.Add(-1)
	}
	return c.Conn.Close()
}

// CloseWrite shuts down the writing side when the connection can.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Request counts one request on the connection and reports whether it is
// the last one allowed by max (0: no limit), after which the connection
// is to be closed.
func (c *Conn) Request(max int) bool {
	n := c.requests.Add(1)
	return max > 0 && n >= int64(max)
}

// Unwrap returns the *Conn under nc, or nil: nc is a *Conn or wraps one
// (a TLS connection, the passthrough front's replay of the ClientHello),
// unwrapped by NetConn.
func Unwrap(nc net.Conn) *Conn {
	for range 4 {
		if c, ok := nc.(*Conn); ok {
			return c
		}
		t, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = t.NetConn()
	}
	return nil
}
