package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/connstate"
	"github.com/moat-ingress/moat/internal/dataplane/h1serve"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// retireTimeout bounds how long the servers of a replaced generation may
// finish their requests: ingress-nginx's worker-shutdown-timeout.
const retireTimeout = 240 * time.Second

// source is one listener moat accepts client connections on.
type source struct {
	ln    net.Listener // the gate's listener, or the TLS front over it
	https bool
	port  int
}

// generation is the HTTP servers built with one client-header-timeout
// and keep-alive (http.Server reads its timeouts without locking, so they
// cannot change under it): one server per source, each fed by a
// connQueue. A change starts a new generation for new connections while
// the old one finishes its requests and closes its idle connections, as
// an nginx reload does.
type generation struct {
	lim     *routecfg.ClientLimits
	servers []*h1serve.Server
	queues  []*connQueue
	wg      sync.WaitGroup // the servers' Serve calls
}

// connQueue is the listener a generation's server accepts from; the
// source's dispatcher hands it connections.
type connQueue struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case <-q.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

// serving is Serve's state that Apply needs to start a new generation.
type serving struct {
	mu       sync.Mutex
	ctx      context.Context
	sources  []source
	cur      *generation
	retiring map[*generation]bool
	stopped  bool
	changed  chan struct{} // closed and replaced when cur changes
}

func (d *Dataplane) newServer(ctx context.Context, src source, lim *routecfg.ClientLimits) *h1serve.Server {
	conns := connstate.NewListener(src.port)
	if src.https {
		// The front terminates TLS with each SNI's config (policy,
		// client-cert request); the server only sees *tls.Conn.
		return d.clientServer(ctx, lim, true, func(nc net.Conn) http.Handler {
			return d.withAltSvc(d.handler.ForConn(conns.TLSConn(nc))) // Alt-Svc with HTTP/3 on
		})
	}
	return d.clientServer(ctx, lim, false, func(nc net.Conn) http.Handler { return d.handler.ForConn(conns.Plain(nc)) })
}

// clientServer is the server of a client listener under lim, the shared
// ones and the Gateways' own (gwsock): HTTP/1.1, and HTTP/2 when http2.
func (d *Dataplane) clientServer(ctx context.Context, lim *routecfg.ClientLimits, http2 bool, handler func(net.Conn) http.Handler) *h1serve.Server {
	srv := &h1serve.Server{
		Handler:           handler,
		ReadHeaderTimeout: lim.HeaderTimeout,
		IdleTimeout:       lim.KeepAlive,
		DisableKeepAlives: lim.KeepAlive <= 0, // nginx's keepalive_timeout 0
		Limits:            h1serve.Limits{MaxLine: lim.HeaderLine, MaxTotal: lim.HeaderTotal},
		// Requests must outlive ctx during the graceful drain, so their
		// base context keeps ctx's values but not its cancellation.
		BaseContext: context.WithoutCancel(ctx),
		// Client-side noise (TLS handshake errors from scanners, bad
		// requests) goes to the debug level.
		Log: d.log,
		// nginx_process_connections{state} (metrics/conns.go).
		ConnState: d.metrics.ConnState,
	}
	if http2 {
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 128} // nginx's http2_max_concurrent_streams
		if n := lim.HTTP2MaxConcurrentStreams; n > 0 {
			srv.HTTP2.MaxConcurrentStreams = n
		}
	}
	return srv
}

// startGeneration builds and starts the servers for lim.
func (d *Dataplane) startGeneration(ctx context.Context, srcs []source, lim *routecfg.ClientLimits) *generation {
	g := &generation{lim: lim}
	for _, src := range srcs {
		q := &connQueue{addr: src.ln.Addr(), conns: make(chan net.Conn), closed: make(chan struct{})}
		srv := d.newServer(ctx, src, lim)
		g.servers = append(g.servers, srv)
		g.queues = append(g.queues, q)
		g.wg.Go(func() { _ = srv.Serve(q) }) // http.ErrServerClosed once shut down
	}
	return g
}

// shutdown stops g's servers: idle connections at once, the others when
// their requests end or ctx does.
func (d *Dataplane) shutdown(ctx context.Context, g *generation) {
	var wg sync.WaitGroup
	for _, srv := range g.servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				d.log.Warn("graceful shutdown timed out; closing connections", "error", err)
				srv.Close()
			}
		})
	}
	wg.Wait()
	g.wg.Wait()
}

// regenerate starts a generation for lim when the servers run with other
// header or keep-alive timeouts, HTTP/2 stream limit or head bounds, and
// retires the old one.
func (d *Dataplane) regenerate(lim *routecfg.ClientLimits) {
	s := &d.serving
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur
	if s.stopped || old == nil || sameServing(old.lim, lim) {
		return
	}
	s.cur = d.startGeneration(s.ctx, s.sources, lim)
	close(s.changed)
	s.changed = make(chan struct{})
	s.retiring[old] = true
	d.log.Info("client timeouts changed; new connections get them, existing ones finish first",
		"client_header_timeout_ms", float64(lim.HeaderTimeout.Microseconds())/1000, "keep_alive_ms", float64(lim.KeepAlive.Microseconds())/1000)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), retireTimeout)
		defer cancel()
		d.shutdown(ctx, old)
		s.mu.Lock()
		delete(s.retiring, old)
		s.mu.Unlock()
	}()
}

// sameServing reports whether servers built for limits a serve clients
// as servers built for b would.
func sameServing(a, b *routecfg.ClientLimits) bool {
	return a.HeaderTimeout == b.HeaderTimeout && a.KeepAlive == b.KeepAlive && a.HTTP2MaxConcurrentStreams == b.HTTP2MaxConcurrentStreams &&
		a.HeaderLine == b.HeaderLine && a.HeaderTotal == b.HeaderTotal
}

// dispatch hands the connections of source i to the current generation
// until the source is closed.
func (d *Dataplane) dispatch(i int, src source) error {
	s := &d.serving
	for {
		c, err := src.ln.Accept()
		if err != nil {
			return err
		}
		for {
			s.mu.Lock()
			g, changed, stopped := s.cur, s.changed, s.stopped
			s.mu.Unlock()
			if stopped {
				c.Close()
				break
			}
			select {
			case g.queues[i].conns <- c:
			case <-changed: // a new generation: hand it there
				continue
			case <-g.queues[i].closed:
				continue
			}
			break
		}
	}
}

func listenerPort(ln net.Listener) int {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	if _, p, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		port, _ := strconv.Atoi(p)
		return port
	}
	return 0
}

// Serve runs the HTTP and HTTPS listeners until ctx is done, then drains
// (drain.go): the listeners close, HTTP/1.1 connections get Connection:
// close on their next response, HTTP/2 connections GOAWAY, and requests,
// streams and WebSockets in flight get up to the shutdown timeout. HTTPS offers HTTP/2 and HTTP/1.1 by ALPN. A nil
// listener is not served. ready, if set, is called once the servers are
// accepting. Serve returns nil after a clean shutdown, or the first
// listener error.
func (d *Dataplane) Serve(ctx context.Context, httpLn, httpsLn net.Listener, ready func()) error {
	var srcs []source
	if httpLn != nil {
		srcs = append(srcs, source{ln: d.gate.Listen(d.pp.Listen(httpLn, "http"), "http", false), port: listenerPort(httpLn)})
	}
	var front *passthrough.Listener
	if httpsLn != nil {
		// The front terminates TLS and forwards passthrough hosts by SNI
		// first. The config decides which hosts those are (translate
		// honours the annotation only with --enable-ssl-passthrough; a
		// Gateway TLS listener needs no flag); with none the ClientHello
		// is not peeked.
		po := passthrough.Options{TLS: d.tlsServer.Config(), Logger: d.log, Route: d.passRoute, Active: d.passActive}
		// The PROXY header, when on, comes before the ClientHello, as in
		// front of ingress-nginx's passthrough proxy.
		front = passthrough.New(d.gate.Listen(d.pp.Listen(httpsLn, "https"), "https", true), po)
		srcs = append(srcs, source{ln: front, https: true, port: listenerPort(httpsLn)})
	}
	if len(srcs) == 0 {
		return errors.New("dataplane: no listener to serve")
	}
	s := &d.serving
	s.mu.Lock()
	s.ctx, s.sources, s.retiring, s.changed = ctx, srcs, map[*generation]bool{}, make(chan struct{})
	s.cur = d.startGeneration(ctx, srcs, d.clientLimits())
	s.mu.Unlock()
	errc := make(chan error, len(srcs))
	for i, src := range srcs {
		go func() { errc <- d.dispatch(i, src) }()
	}
	// The TCP and UDP services and the Gateways' own sockets open their
	// ports with the listeners.
	d.streams.Start()
	d.gw.Start(ctx)
	if d.h3 != nil && httpsLn != nil {
		d.startHTTP3(ctx, listenerPort(httpsLn))
	}
	if ready != nil {
		// The listeners are bound and their servers started; connections
		// made from now on queue in the backlog until accepted.
		ready()
	}

	var err error
	pending := len(srcs)
	select {
	case <-ctx.Done():
	case err = <-errc:
		pending--
		if errors.Is(err, net.ErrClosed) {
			err = nil
		} else {
			err = fmt.Errorf("dataplane listener: %w", err)
		}
	}
	for _, src := range srcs {
		src.ln.Close()
	}
	for ; pending > 0; pending-- {
		<-errc // net.ErrClosed once closed
	}
	s.mu.Lock()
	s.stopped = true
	gens := []*generation{s.cur}
	for g := range s.retiring {
		gens = append(gens, g)
	}
	s.mu.Unlock()
	servers, fronts, gwWait := d.gw.Stop()
	for _, g := range gens {
		servers = append(servers, g.servers...)
	}
	if front != nil {
		fronts = append(fronts, front)
	}
	d.drain(ctx, servers, fronts)
	for _, g := range gens {
		g.wg.Wait()
	}
	gwWait()
	d.transport.CloseIdleConnections()
	d.backends.CloseIdleConnections()
	d.closeTracing()
	return err
}
