// Package gwsock runs the sockets of Gateways that have an address of
// their own (routecfg.Config.Listeners, --gateway-address-pool): one
// socket per address and port, with its own router table, certificates
// and passthrough names, served by its own request handler over the data
// plane's shared pools and transports. Ingress traffic on the shared
// --http-addr/--https-addr pair never looks at them.
//
// Sockets are bound by Apply, so that a port that cannot be bound is
// known (Error) before the status is written, and served once Start ran.
// A socket the next configuration drops stops accepting at once and its
// connections drain as a replaced server generation's do; a socket it
// keeps is not reopened; one that failed to bind is tried again.
package gwsock

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/connstate"
	"github.com/moat-ingress/moat/internal/dataplane/h1serve"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/dataplane/proxy"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Route forwards a passthrough SNI (see passthrough.Options.Route).
type Route func(sni string) (passthrough.Backend, bool)

// Options are what the sockets borrow from the data plane.
type Options struct {
	Log         *slog.Logger
	DefaultCert *tls.Certificate
	Now         func() time.Time
	// NewHandler serves the snapshots snap returns.
	NewHandler func(snap func() *proxy.Snapshot) *proxy.Handler
	// Wrap puts the connection gate and PROXY-protocol reader over a
	// bound socket.
	Wrap func(ln net.Listener, tls bool) net.Listener
	// Limits are the client limits in effect.
	Limits func() *routecfg.ClientLimits
	// Passthrough returns the route for cfg's passthrough hosts, nil when
	// it has none.
	Passthrough func(cfg *routecfg.Config) Route
	// NewServer builds the server of a socket under lim (HTTP/2 when
	// http2), as the data plane builds its own listeners'.
	NewServer func(ctx context.Context, lim *routecfg.ClientLimits, http2 bool, handler func(net.Conn) http.Handler) *h1serve.Server
	// RetireTimeout bounds the drain of a dropped socket.
	RetireTimeout time.Duration
}

// socket is one bound Gateway socket.
type socket struct {
	key     string
	gateway string
	port    int
	snap    atomic.Pointer[proxy.Snapshot]
	handler *proxy.Handler
	raw     net.Listener
	certs   *certs.Store // TLS only
	tlsSrv  *certs.Server
	pass    atomic.Pointer[Route]
	// closeOthers: the socket terminates no HTTPS host, so a ClientHello
	// for no passthrough host is closed, not answered with the default
	// certificate (a TLS listener's hostnames, TLSRouteHostnameIntersection).
	closeOthers atomic.Bool
	front       *passthrough.Listener
	srv         *h1serve.Server
	served      bool
	serveErr    chan error
}

// Set is the data plane's Gateway sockets.
type Set struct {
	o        Options
	mu       sync.Mutex
	socks    map[string]*socket
	failed   map[netip.AddrPort]error
	ctx      context.Context // Start's; nil before
	stopped  bool
	retiring sync.WaitGroup
}

// New returns an empty Set.
func New(o Options) *Set {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Set{o: o}
}

// ListenerConfig is cfg as seen from socket l: its hosts instead of the
// shared listeners', the rest (pools, certificates, policies) shared.
func ListenerConfig(cfg *routecfg.Config, l *routecfg.Listener) *routecfg.Config {
	c := *cfg
	c.VirtualHosts, c.CatchAll, c.Listeners, c.Streams = l.VirtualHosts, l.CatchAll, nil, nil
	if l.DefaultCertificate != "" {
		if dc := cfg.Certificates[l.DefaultCertificate]; dc != nil {
			c.DefaultCertificate = dc
		}
	}
	return &c
}

// Error is why the socket on ap could not be bound by the last
// configuration, nil when it is open or not asked for.
func (s *Set) Error(ap netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
}

// Apply makes the sockets those of cfg (a validated configuration).
func (s *Set) Apply(cfg *routecfg.Config, tracer *tracing.Tracer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || (len(cfg.Listeners) == 0 && len(s.socks) == 0 && len(s.failed) == 0) {
		return
	}
	want := make(map[string]*routecfg.Listener, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		want[l.Key()] = l
	}
	for k, so := range s.socks {
		if _, ok := want[k]; !ok {
			delete(s.socks, k)
			s.retire(so)
		}
	}
	if s.socks == nil {
		s.socks = map[string]*socket{}
	}
	s.failed = map[netip.AddrPort]error{}
	for k, l := range want {
		so := s.socks[k]
		if so == nil {
			var err error
			if so, err = s.open(l); err != nil {
				a, _ := netip.ParseAddr(l.Address)
				s.failed[netip.AddrPortFrom(a.Unmap(), uint16(l.Port))] = err
				s.o.Log.Warn("gateway listener cannot be bound; retried with the next configuration",
					"gateway", l.Gateway, "listener", k, "error", err)
				continue
			}
			s.socks[k] = so
			s.o.Log.Info("gateway listener opened", "gateway", l.Gateway, "listener", k)
		}
		s.update(so, cfg, l, tracer)
		if s.ctx != nil && !so.served {
			s.serve(s.ctx, so)
		}
	}
}

// Refresh gives the sockets cfg, which differs from the served one only
// in endpoints: their tables are kept.
func (s *Set) Refresh(cfg *routecfg.Config, tracer *tracing.Tracer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range cfg.Listeners {
		if so := s.socks[l.Key()]; so != nil {
			old := so.snap.Load()
			so.snap.Store(&proxy.Snapshot{Table: old.Table, Config: ListenerConfig(cfg, l), Tracer: tracer})
		}
	}
}

// open binds l and builds what serves it.
func (s *Set) open(l *routecfg.Listener) (*socket, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(l.Address, fmt.Sprint(l.Port)))
	if err != nil {
		return nil, err
	}
	so := &socket{key: l.Key(), gateway: l.Gateway, port: l.Port, raw: ln}
	so.handler = s.o.NewHandler(so.snap.Load)
	if l.Protocol == routecfg.ListenerTLS {
		so.certs = certs.New(s.o.DefaultCert)
		so.tlsSrv = certs.NewServer(so.certs, s.o.Now, []string{"h2", "http/1.1"})
	}
	return so, nil
}

// update serves cfg's hosts of l on so.
func (s *Set) update(so *socket, cfg *routecfg.Config, l *routecfg.Listener, tracer *tracing.Tracer) {
	lc := ListenerConfig(cfg, l)
	var prev *router.Table
	if old := so.snap.Load(); old != nil {
		prev = old.Table
	}
	if so.certs != nil {
		so.certs.Apply(lc)
		so.tlsSrv.Apply(lc)
		r := s.o.Passthrough(lc)
		so.pass.Store(&r)
		so.closeOthers.Store(!terminates(lc))
	}
	so.snap.Store(&proxy.Snapshot{Table: router.CompileGatewayFrom(prev, lc), Config: lc, Tracer: tracer})
}

// terminates reports whether a listener config has an HTTPS host or
// catch-all to terminate (not only passthrough hosts).
func terminates(lc *routecfg.Config) bool {
	if lc.CatchAll != nil {
		return true
	}
	for _, vh := range lc.VirtualHosts {
		if vh != nil && vh.Passthrough == nil {
			return true
		}
	}
	return false
}

// serve starts so's server (s.mu held).
func (s *Set) serve(ctx context.Context, so *socket) {
	so.served = true
	lim := s.o.Limits()
	conns := connstate.NewListener(so.port)
	h := so.handler
	var ln net.Listener
	var srv *h1serve.Server
	if so.certs != nil {
		srv = s.o.NewServer(ctx, lim, true, func(nc net.Conn) http.Handler { return h.ForConn(conns.TLSConn(nc)) })
		po := passthrough.Options{TLS: so.tlsSrv.Config(), Logger: s.o.Log,
			Route: func(sni string) (passthrough.Backend, bool) {
				if r := *so.pass.Load(); r != nil {
					if be, ok := r(sni); ok {
						return be, true
					}
				}
				// A Backend without address: the connection is closed.
				return passthrough.Backend{}, so.closeOthers.Load()
			},
			Active: func() bool { return *so.pass.Load() != nil || so.closeOthers.Load() }}
		so.front = passthrough.New(s.o.Wrap(so.raw, true), po)
		ln = so.front
	} else {
		// Gateway HTTP listeners also speak h2c with prior knowledge
		// (gRPC clients in clear text); the Ingress HTTP listener does
		// not, as ingress-nginx's does not.
		srv = s.o.NewServer(ctx, lim, true, func(nc net.Conn) http.Handler { return h.ForConn(conns.Plain(nc)) })
		srv.H2C = true
		ln = s.o.Wrap(so.raw, false)
	}
	so.srv = srv
	so.serveErr = make(chan error, 1)
	gw, key, log := so.gateway, so.key, s.o.Log
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Error("gateway listener stopped accepting", "gateway", gw, "listener", key, "error", err)
		}
		so.serveErr <- err
	}()
}

// retire stops so accepting and drains its connections in the
// background (s.mu held).
func (s *Set) retire(so *socket) {
	s.o.Log.Info("gateway listener closed; its connections finish first", "gateway", so.gateway, "listener", so.key)
	if so.front != nil {
		so.front.Close()
	}
	so.raw.Close()
	if !so.served {
		return
	}
	ctx := s.ctx
	s.retiring.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.RetireTimeout)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := so.srv.Shutdown(ctx); err != nil {
				so.srv.Close()
			}
		})
		if so.front != nil {
			wg.Go(func() { so.front.Shutdown(ctx) })
		}
		wg.Wait()
		<-so.serveErr
	})
}

// Start serves the bound sockets, and those bound later, under ctx.
func (s *Set) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
	for _, k := range s.keys() {
		if so := s.socks[k]; !so.served {
			s.serve(ctx, so)
		}
	}
}

// Stop closes the sockets for the drain and returns their servers and
// TLS fronts, and a wait for their Serve calls and the retiring sockets;
// no socket opens afterwards.
func (s *Set) Stop() (servers []*h1serve.Server, fronts []*passthrough.Listener, wait func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	var errcs []chan error
	for _, so := range s.socks {
		if so.front != nil {
			so.front.Close()
		}
		so.raw.Close()
		if so.served {
			servers = append(servers, so.srv)
			errcs = append(errcs, so.serveErr)
			if so.front != nil {
				fronts = append(fronts, so.front)
			}
		}
	}
	s.socks = nil
	return servers, fronts, func() {
		for _, c := range errcs {
			<-c
		}
		s.retiring.Wait()
	}
}

// Keys lists the open sockets ("address:port/protocol"), sorted.
func (s *Set) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys()
}

func (s *Set) keys() []string {
	out := make([]string, 0, len(s.socks))
	for k := range s.socks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
