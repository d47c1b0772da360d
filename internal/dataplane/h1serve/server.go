// Package h1serve is moat's HTTP/1.1 server, in place of net/http's, for
// the traffic listeners. net/http's server was the largest cost of the
// request path outside the system calls (docs/performance.md) and gives a
// handler nothing of its connection but the request's context; this one:
//
//   - asks for a handler once per connection (Server.Handler), so the
//     connection's state (listener port, client-certificate verdict,
//     limits) is a field of the handler, not a context value per request;
//   - watches for the client going away only while a request has been
//     waiting for a while (bgReadDelay), not with a goroutine and two
//     deadline changes per request;
//   - parses request heads strictly (rejecting the request-smuggling
//     forms) with the bounds of nginx's large_client_header_buffers;
//   - answers as nginx does where the two differ: the status line is
//     always HTTP/1.1 and no Content-Type is sniffed.
//
// HTTP/2 connections (ALPN "h2" over TLS, and prior knowledge when H2C is
// set) go to golang.org/x/net/http2's server, with a handler per
// connection too.
package h1serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/moat-ingress/moat/internal/dataplane/h1parse"
)

// Server serves HTTP/1.1 (and hands HTTP/2 on) on the connections of its
// listeners. Its fields must not change once Serve is called.
type Server struct {
	// Handler returns the handler of one connection's requests; it is
	// called once per connection, after the TLS handshake.
	Handler func(nc net.Conn) http.Handler
	// ReadHeaderTimeout bounds the TLS handshake and each request head
	// (nginx's client_header_timeout); 0 means none.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a connection may wait for its next request
	// (keepalive_timeout); 0 means ReadHeaderTimeout.
	IdleTimeout time.Duration
	// DisableKeepAlives closes every connection after one request.
	DisableKeepAlives bool
	// Limits bound request heads; zero fields take nginx's defaults (4 8k).
	Limits Limits
	// BaseContext is the parent of every request's context.
	BaseContext context.Context
	// Log gets client-side noise (handshake errors, bad requests) at
	// debug level, and handler panics at error level.
	Log *slog.Logger
	// ConnState, if set, is told each connection's state changes, as
	// http.Server's hook is.
	ConnState func(net.Conn, http.ConnState)
	// HTTP2, if set, serves the TLS connections that chose "h2" by ALPN
	// with these settings.
	HTTP2 *http.HTTP2Config
	// NewConnGrace is how long Shutdown lets a connection that has not
	// sent its first request (one in its TLS handshake, or one a client's
	// pool dialed and never used) send one before closing it; 0 means
	// 5 s, as net/http.
	NewConnGrace time.Duration
	// H2C also serves HTTP/2 with prior knowledge on connections without
	// TLS (Gateway HTTP listeners, for gRPC clients in clear text).
	H2C bool

	init sync.Once
	//lint:ignore SA1019 see h2.go
	h2       *http2.Server
	h2base   *http.Server // BaseConfig of h2; its Shutdown sends GOAWAY
	mu       sync.Mutex
	conns    map[*conn]struct{}
	lns      map[net.Listener]struct{}
	closing  atomic.Bool
	closed   chan struct{} // closed by Shutdown and Close
	idleWake chan struct{} // a conn went idle or away while shutting down
	date     atomic.Pointer[dateLine]
}

// ErrServerClosed is what Serve returns once Shutdown or Close is called.
var ErrServerClosed = http.ErrServerClosed

func (s *Server) setup() {
	s.init.Do(func() {
		s.conns = map[*conn]struct{}{}
		s.lns = map[net.Listener]struct{}{}
		s.closed = make(chan struct{})
		s.idleWake = make(chan struct{}, 1)
		if s.Limits.MaxLine <= 0 {
			s.Limits.MaxLine = h1parse.DefaultMaxLine
		}
		if s.Limits.MaxTotal <= 0 {
			s.Limits.MaxTotal = h1parse.DefaultMaxTotal
		}
		if s.NewConnGrace <= 0 {
			s.NewConnGrace = 5 * time.Second
		}
		if s.BaseContext == nil {
			s.BaseContext = context.Background()
		}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		if s.HTTP2 != nil {
			s.h2, s.h2base = newHTTP2(s)
		}
	})
}

// Serve accepts connections on l and serves each in its own goroutine
// until l fails or the server is shut down (then ErrServerClosed).
func (s *Server) Serve(l net.Listener) error {
	s.setup()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, l)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// EMFILE and the like: wait as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-s.closed:
					return ErrServerClosed
				}
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, tells HTTP/1.1
// connections to close after their current response and HTTP/2 ones to
// finish (GOAWAY), and waits for them until ctx ends (then ctx's error;
// the caller may Close).
func (s *Server) Shutdown(ctx context.Context) error {
	s.setup()
	s.beginClose()
	if s.h2base != nil {
		// Runs the registered GOAWAY hook; returns at once, h2base having
		// no connections of its own.
		_ = s.h2base.Shutdown(ctx)
	}
	wait := time.Millisecond
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.idleWake:
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.setup()
	s.beginClose()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
	return nil
}

func (s *Server) beginClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Swap(true) {
		return
	}
	close(s.closed)
	for l := range s.lns {
		l.Close()
	}
}

// closeIdle closes the connections waiting for another request, and
// those that have not sent their first one within NewConnGrace, and returns
// how many are left.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := time.Now().Add(-s.NewConnGrace).UnixNano()
	for c := range s.conns {
		if born := c.born.Load(); c.idle.Load() || (born != 0 && born < old) {
			c.nc.Close()
		}
	}
	return len(s.conns)
}

func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return nil
	}
	c := &conn{s: s, nc: nc}
	c.born.Store(time.Now().UnixNano())
	s.conns[c] = struct{}{}
	s.setState(nc, http.StateNew)
	return c
}

// forget drops c from the connections Shutdown waits for.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wake()
}

// wake tells a waiting Shutdown to look again.
func (s *Server) wake() {
	if s.closing.Load() {
		select {
		case s.idleWake <- struct{}{}:
		default:
		}
	}
}

func (s *Server) setState(nc net.Conn, st http.ConnState) {
	if s.ConnState != nil {
		s.ConnState(nc, st)
	}
}

// dateLine is the Date header of one second, formatted once.
type dateLine struct {
	sec  int64
	line []byte // "Date: ...\r\n"
}

func (s *Server) dateHeader() []byte {
	now := time.Now()
	if d := s.date.Load(); d != nil && d.sec == now.Unix() {
		return d.line
	}
	b := make([]byte, 0, 40)
	b = append(b, "Date: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n"...)
	s.date.Store(&dateLine{sec: now.Unix(), line: b})
	return b
}
