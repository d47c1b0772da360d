// Package proxyprotocol reads the PROXY protocol header (HAProxy's v1 text
// line and v2 binary block) that a TCP load balancer puts in front of each
// client connection, for the controller ConfigMap's use-proxy-protocol: the
// address in the header is then the connection's RemoteAddr, so the access
// log, X-Forwarded-For / X-Real-IP, allow and deny lists and rate limits
// see the client rather than the load balancer, as behind ingress-nginx's
// `listen ... proxy_protocol`.
//
// The header bytes are parsed by github.com/pires/go-proxyproto, the parser
// ingress-nginx itself uses in front of its passthrough listener (pinned in
// go.mod, fuzzed with Conn here). moat wraps the parser in its own Conn
// rather than using the library's Listener because: the header is
// required, and a connection without a valid one is closed and counted by
// reason; the deadline the caller set (the passthrough peek, the HTTP
// header timeout) must survive the header read; and the TCP peer must stay
// known, since proxy-real-ip-cidr decides from it whether the header is
// believed (the proxy package).
package proxyprotocol

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
)

// DefaultTimeout is ingress-nginx's proxy-protocol-header-timeout.
const DefaultTimeout = 5 * time.Second

// Reasons a connection is closed for, the metric's reason label.
const (
	// ReasonMissing: the first bytes are not a PROXY signature (a client
	// or load balancer speaking HTTP or TLS straight away).
	ReasonMissing = "missing"
	// ReasonMalformed: a signature followed by a header that does not
	// parse, is cut short, or comes in pieces.
	ReasonMalformed = "malformed"
	// ReasonTimeout: no complete header within the timeout.
	ReasonTimeout = "timeout"
)

// bufSize buffers the header read; what follows it (the request or the
// ClientHello) is handed on from the buffer first. v2 blocks longer than
// this are read through it, so it bounds nothing.
const bufSize = 512

// Reader holds the setting shared by the HTTP and HTTPS listeners and
// reports failed headers. The setting is read once per accepted
// connection: a change applies to new connections, those open keep what
// they were accepted with.
type Reader struct {
	on      atomic.Bool
	timeout atomic.Int64 // ns

	log     *slog.Logger
	onError func(listener, reason string)

	lastWarn   atomic.Int64 // unix ns of the last WARN
	suppressed atomic.Int64 // failures not logged since
}

// Options configures a Reader.
type Options struct {
	Logger *slog.Logger
	// OnError counts a connection closed for its header; listener is
	// the name given to Listen.
	OnError func(listener, reason string)
}

// New returns a Reader, off until Set turns it on.
func New(o Options) *Reader {
	r := &Reader{log: o.Logger, onError: o.OnError}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.timeout.Store(int64(DefaultTimeout))
	return r
}

// Set turns header reading on or off; timeout bounds the header read
// (<= 0: DefaultTimeout). It reports whether on changed.
func (r *Reader) Set(on bool, timeout time.Duration) bool {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r.timeout.Store(int64(timeout))
	return r.on.Swap(on) != on
}

// On reports whether new connections must start with a header.
func (r *Reader) On() bool { return r.on.Load() }

// Listen wraps ln: while the Reader is on, each accepted connection is a
// *Conn. name labels metrics and logs ("http", "https").
func (r *Reader) Listen(ln net.Listener, name string) net.Listener {
	return &listener{Listener: ln, r: r, name: name}
}

type listener struct {
	net.Listener
	r    *Reader
	name string
}

// Accept never reads: the header is read by the connection's first Read,
// RemoteAddr or LocalAddr, on the goroutine serving it, so a slow client
// cannot hold up the accept loop.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || !l.r.on.Load() {
		return c, err
	}
	return l.r.NewConn(c, l.name), nil
}

// NewConn wraps c, which must start with a PROXY header.
func (r *Reader) NewConn(c net.Conn, name string) *Conn {
	return &Conn{Conn: c, r: r, name: name, timeout: time.Duration(r.timeout.Load())}
}

// Conn is a connection that starts with a PROXY header. Its RemoteAddr is
// the header's source address; LocalAddr stays the socket's (the listener
// port is what moat routes by).
type Conn struct {
	net.Conn
	r       *Reader
	name    string
	timeout time.Duration

	once sync.Once
	br   *bufio.Reader
	// drained: everything buffered past the header has been read.
	drained atomic.Bool
	err     error
	src     net.Addr // nil: the header carried no address (LOCAL, UNKNOWN)
	srcAP   netip.AddrPort
	dstAP   netip.AddrPort

	dmu sync.Mutex
	// rd is the read deadline the caller set, restored after the header.
	rd time.Time
}

// Header reads the header if not done yet. It returns the reason the
// connection is unusable, or nil.
func (c *Conn) Header() error {
	c.once.Do(c.readHeader)
	return c.err
}

func (c *Conn) readHeader() {
	c.dmu.Lock()
	deadline := time.Now().Add(c.timeout)
	if !c.rd.IsZero() && c.rd.Before(deadline) {
		deadline = c.rd
	}
	_ = c.Conn.SetReadDeadline(deadline)
	c.dmu.Unlock()

	c.br = bufio.NewReaderSize(c.Conn, bufSize)
	var h *proxyproto.Header
	_, err := c.br.Peek(1)
	empty := err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	if err == nil {
		h, err = proxyproto.Read(c.br)
	}

	c.dmu.Lock()
	_ = c.Conn.SetReadDeadline(c.rd)
	c.dmu.Unlock()

	if empty {
		c.err = errClosed
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	if h.Command.IsLocal() {
		// The load balancer's own connection (a health check): the
		// socket's addresses are the real ones (spec section 2.2).
		return
	}
	src, dst, ok := h.IPs()
	sp, dp, pok := h.Ports()
	sa, aok := netip.AddrFromSlice(src)
	da, bok := netip.AddrFromSlice(dst)
	if !ok || !pok || !aok || !bok {
		return // AF_UNIX or UNSPEC: no address to use, as nginx
	}
	c.srcAP = netip.AddrPortFrom(sa.Unmap(), uint16(sp))
	c.dstAP = netip.AddrPortFrom(da.Unmap(), uint16(dp))
	c.src = net.TCPAddrFromAddrPort(c.srcAP)
}

// errClosed is what reads return after a connection closed before
// sending anything: not counted, TCP health checks do it.
var errClosed = io.EOF

func (c *Conn) fail(err error) {
	reason := ReasonMalformed
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		reason = ReasonTimeout
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		reason = ReasonMissing
	}
	// A read error, as net/http sees one: the connection is closed
	// without an answer, as nginx closes it (a HeaderError alone would
	// get a 400).
	c.err = &net.OpError{Op: "read", Net: "tcp", Source: c.Conn.LocalAddr(), Addr: c.Conn.RemoteAddr(),
		Err: &HeaderError{Reason: reason, Err: err}}
	if c.r.onError != nil {
		c.r.onError(c.name, reason)
	}
	c.r.warn(c, reason, err)
}

// HeaderError is what Read returns on a connection whose header failed.
type HeaderError struct {
	Reason string
	Err    error
}

func (e *HeaderError) Error() string {
	return "proxy protocol header " + e.Reason + ": " + e.Err.Error()
}

func (e *HeaderError) Unwrap() error { return e.Err }

// warnEvery bounds how often failures are logged at WARN: a load
// balancer that does not send the header fails every connection.
const warnEvery = 10 * time.Second

func (r *Reader) warn(c *Conn, reason string, err error) {
	now := time.Now().UnixNano()
	prev := r.lastWarn.Load()
	if now-prev < int64(warnEvery) || !r.lastWarn.CompareAndSwap(prev, now) {
		r.suppressed.Add(1)
		r.log.Debug("PROXY protocol header refused; connection closed",
			"listener", c.name, "peer", c.Conn.RemoteAddr().String(), "reason", reason, "error", err)
		return
	}
	r.log.Warn("PROXY protocol header refused; connection closed",
		"listener", c.name, "peer", c.Conn.RemoteAddr().String(), "reason", reason, "error", err,
		"suppressed_since_last", r.suppressed.Swap(0),
		"hint", "use-proxy-protocol is true in the controller ConfigMap: every connection must start with a PROXY v1 or v2 header (turn it on at the load balancer, or off here)")
}

// Read returns the bytes after the header; the header's error if it
// failed.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Header(); err != nil {
		return 0, err
	}
	if !c.drained.Load() {
		if c.br.Buffered() > 0 {
			return c.br.Read(b)
		}
		c.drained.Store(true)
	}
	return c.Conn.Read(b)
}

// RemoteAddr is the header's source address, or the socket's peer when
// the header carried none or failed.
func (c *Conn) RemoteAddr() net.Addr {
	if c.Header() == nil && c.src != nil {
		return c.src
	}
	return c.Conn.RemoteAddr()
}

// Peer is the socket's peer: the load balancer.
func (c *Conn) Peer() net.Addr { return c.Conn.RemoteAddr() }

// Addresses returns the header's source and destination once it has been
// read; ok is false when it carried none.
func (c *Conn) Addresses() (src, dst netip.AddrPort, ok bool) {
	if c.Header() != nil || c.src == nil {
		return netip.AddrPort{}, netip.AddrPort{}, false
	}
	return c.srcAP, c.dstAP, true
}

// SetReadDeadline records the caller's deadline, restored after the
// header is read.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.rd = t
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline sets both deadlines; see SetReadDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.rd = t
	return c.Conn.SetDeadline(t)
}

// CloseWrite shuts down the writing side when the connection can (the
// passthrough forwarder half-closes).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
