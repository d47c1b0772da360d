// Package passthrough is the HTTPS listener's front: it accepts TCP
// connections and either hands them to TLS termination or, for hosts with
// ssl-passthrough, reads the ClientHello's SNI without terminating and
// forwards the raw stream to the backend, all on the same port.
package passthrough

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults bounding the work done before a connection is routed.
const (
	DefaultPeekTimeout = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
)

// Backend is where a passthrough connection goes. Release, if set, is
// called once the connection ends (for in-flight counts).
type Backend struct {
	Address string
	Release func()
	// Failed, if set, is called when dialling Address fails.
	Failed func()
	// Terminate decrypts the connection (Options.TLS picks the
	// certificate by SNI, without ALPN) and forwards the plain stream:
	// a TLSRoute on a listener in mode Terminate.
	Terminate bool
}

// Options configures a Listener.
type Options struct {
	// TLS terminates every connection that is not passed through.
	TLS *tls.Config
	// Route returns the backend for a passthrough SNI, ok false for names
	// moat terminates. Nil disables peeking (no --enable-ssl-passthrough):
	// connections go straight to TLS.
	Route func(serverName string) (Backend, bool)
	// Active reports whether any host is passed through; when false,
	// connections skip the peek. Nil means always peek when Route is set.
	Active func() bool
	// PeekTimeout bounds reading the ClientHello; DialTimeout the
	// connection to the backend.
	PeekTimeout, DialTimeout time.Duration
	Logger                   *slog.Logger
}

// Listener wraps a TCP listener; Accept returns *tls.Conn for terminated
// connections only. Close it, then call Shutdown to end passthrough
// streams.
type Listener struct {
	inner net.Listener
	opts  Options
	// term terminates TLSRoute connections (terminateConfig).
	term *tls.Config

	conns   chan net.Conn
	errc    chan error
	done    chan struct{}
	once    sync.Once
	started sync.Once

	mu     sync.Mutex
	active map[net.Conn]*stream // passthrough client conns
	wg     sync.WaitGroup
}

// stream counts the copies of one passthrough connection, so Shutdown can
// tell idle streams (a kept-alive tunnel) from busy ones.
type stream struct {
	activity atomic.Uint64
	idleFor  int // shutdown ticks without activity
	last     uint64
}

// New returns a Listener over inner.
func New(inner net.Listener, opts Options) *Listener {
	if opts.PeekTimeout <= 0 {
		opts.PeekTimeout = DefaultPeekTimeout
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Listener{inner: inner, opts: opts, conns: make(chan net.Conn), errc: make(chan error, 1),
		done: make(chan struct{}), active: map[net.Conn]*stream{}}
	if opts.TLS != nil {
		l.term = terminateConfig(opts.TLS)
	}
	return l
}

// Accept returns the next connection to terminate.
func (l *Listener) Accept() (net.Conn, error) {
	if l.opts.Route == nil {
		c, err := l.inner.Accept()
		if err != nil {
			return nil, err
		}
		return tls.Server(c, l.opts.TLS), nil
	}
	// Peeking happens off the accept loop, one goroutine per connection,
	// so a slow client cannot hold up others.
	l.started.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept gets it too
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			l.errc <- err
			return
		}
		go l.route(c)
	}
}

// route peeks at the ClientHello and passes the connection through or on
// to TLS termination with the peeked bytes replayed.
func (l *Listener) route(c net.Conn) {
	if l.opts.Active != nil && !l.opts.Active() {
		l.deliver(tls.Server(c, l.opts.TLS))
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(l.opts.PeekTimeout))
	buf := make([]byte, 0, 2048)
	var name string
	var err error
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxHelloBytes+4*recordHeader {
				err = errTooLarge
				break
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, rerr := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		name, err = ServerName(buf)
		if !errors.Is(err, errNeedMore) {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	if err == nil {
		if be, ok := l.opts.Route(name); ok {
			l.pass(c, buf, name, be)
			return
		}
	}
	// Not ours to pass through (or not a parsable ClientHello): TLS gives
	// the client the usual answer or alert.
	l.deliver(tls.Server(&prefixConn{Conn: c, prefix: buf}, l.opts.TLS))
}

func (l *Listener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// pass forwards the connection to the backend, replaying the ClientHello.
func (l *Listener) pass(c net.Conn, hello []byte, name string, be Backend) {
	if be.Release != nil {
		defer be.Release()
	}
	if be.Address == "" {
		c.Close() // claimed, but nothing to forward to
		return
	}
	st := l.track(c)
	if st == nil {
		c.Close()
		return
	}
	defer l.untrack(c)
	client := c
	if be.Terminate {
		if l.term == nil {
			c.Close() // no TLS configuration to terminate with
			return
		}
		tc := tls.Server(&prefixConn{Conn: c, prefix: hello}, l.term)
		_ = c.SetDeadline(time.Now().Add(l.opts.PeekTimeout))
		if err := tc.Handshake(); err != nil {
			l.opts.Logger.Debug("tls terminate: handshake failed", "sni", name, "error", err)
			c.Close()
			return
		}
		_ = c.SetDeadline(time.Time{})
		client, hello = tc, nil
	}
	d := net.Dialer{Timeout: l.opts.DialTimeout}
	up, err := d.Dial("tcp", be.Address)
	if err != nil {
		if be.Failed != nil {
			be.Failed()
		}
		l.opts.Logger.Warn("ssl passthrough: backend unreachable", "sni", name, "upstream", be.Address, "error", err)
		c.Close()
		return
	}
	defer up.Close()
	defer c.Close()
	if len(hello) > 0 {
		if _, err := up.Write(hello); err != nil {
			return
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- copyHalf(up, client, &st.activity) }()
	go func() { errc <- copyHalf(client, up, &st.activity) }()
	<-errc
	<-errc
}

// terminateConfig is base for a terminated TCP stream: the host's
// certificate and TLS policy, no ALPN (no HTTP protocol is spoken here).
func terminateConfig(base *tls.Config) *tls.Config {
	return &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base
		if base.GetConfigForClient != nil {
			cc, err := base.GetConfigForClient(hi)
			if err != nil {
				return nil, err
			}
			if cc != nil {
				c = cc
			}
		}
		c = c.Clone()
		c.NextProtos, c.ClientAuth = nil, tls.NoClientCert
		return c, nil
	}}
}

// copyHalf copies until EOF and then half-closes dst, so each side can
// finish sending (TLS close_notify) while the other still reads. Each
// chunk counts as activity.
func copyHalf(dst, src net.Conn, activity *atomic.Uint64) error {
	buf := make([]byte, 32<<10)
	var err error
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			activity.Add(1)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = rerr
			}
			break
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
	return err
}

func (l *Listener) track(c net.Conn) *stream {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	default:
	}
	st := &stream{}
	l.active[c] = st
	l.wg.Add(1)
	return st
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.active, c)
	l.mu.Unlock()
	l.wg.Done()
}

// Close stops accepting; passthrough streams continue until Shutdown.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.inner.Close()
}

// Addr is the underlying listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Shutdown ends passthrough streams after Close: a stream idle for
// idleGrace (a kept-alive tunnel between requests) is closed at once,
// busy ones may finish until ctx is done, then the rest are closed. moat
// cannot see requests inside the TLS, so idleness is the only signal.
func (l *Listener) Shutdown(ctx context.Context) {
	finished := make(chan struct{})
	go func() { l.wg.Wait(); close(finished) }()
	tick := time.NewTicker(shutdownTick)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-ctx.Done():
			l.closeStreams(func(*stream) bool { return true })
			<-finished
			return
		case <-tick.C:
			l.closeStreams(func(st *stream) bool {
				n := st.activity.Load()
				if n != st.last {
					st.last, st.idleFor = n, 0
					return false
				}
				st.idleFor++
				return time.Duration(st.idleFor)*shutdownTick >= idleGrace
			})
		}
	}
}

const (
	shutdownTick = 250 * time.Millisecond
	idleGrace    = time.Second
)

func (l *Listener) closeStreams(which func(*stream) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, st := range l.active {
		if which(st) {
			c.Close()
		}
	}
}

// prefixConn replays the peeked bytes before reading the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// NetConn is the connection under the replay (clientconn.Unwrap).
func (p *prefixConn) NetConn() net.Conn { return p.Conn }

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
