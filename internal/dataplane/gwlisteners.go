package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/dataplane/proxy"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Gateway sockets (routecfg.Config.Listeners): each Gateway with an
// address of its own (--gateway-address-pool) gets one socket per port,
// with its own router table, certificates and passthrough names, served
// by its own proxy.Handler over the shared pools and transports. Ingress
// traffic on the --http-addr/--https-addr pair never looks at them.
//
// Sockets are bound by Apply, so that a port that cannot be bound is
// known (ListenerError) before the status is written, and served once
// Serve runs. A socket the next configuration drops stops accepting at
// once and its connections drain as a replaced server generation's do; a
// socket it keeps is not reopened; one that failed to bind is retried.

// gwSocket is one bound Gateway socket.
type gwSocket struct {
	key      string
	l        *routecfg.Listener
	port     int
	snap     atomic.Pointer[proxy.Snapshot]
	handler  *proxy.Handler
	raw      net.Listener // the bound socket
	certs    *certs.Store // TLS only
	tlsSrv   *certs.Server
	pass     atomic.Pointer[passTable]
	front    *passthrough.Listener
	srv      *http.Server
	served   bool
	serveErr chan error
}

// gwSockets is the Dataplane's set of Gateway sockets.
type gwSockets struct {
	mu     sync.Mutex
	socks  map[string]*gwSocket
	failed map[netip.AddrPort]error
	// ctx is Serve's, nil until Serve starts; stopped once it ended.
	ctx     context.Context
	stopped bool
	// retiring are the servers of dropped sockets still draining.
	retiring sync.WaitGroup
}

// listenerConfig is cfg as seen from socket l: its hosts instead of the
// shared listeners', the rest (pools, certificates, policies) shared.
func listenerConfig(cfg *routecfg.Config, l *routecfg.Listener) *routecfg.Config {
	c := *cfg
	c.VirtualHosts, c.CatchAll, c.Listeners, c.Streams = l.VirtualHosts, l.CatchAll, nil, nil
	if l.DefaultCertificate != "" {
		if dc := cfg.Certificates[l.DefaultCertificate]; dc != nil {
			c.DefaultCertificate = dc
		}
	}
	return &c
}

// validateListeners checks the Gateway sockets of cfg: addresses, no
// socket twice, and their hosts as Validate checks the shared ones.
func validateListeners(cfg *routecfg.Config) error {
	if cfg == nil || len(cfg.Listeners) == 0 {
		return nil
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	seen := map[netip.AddrPort]bool{}
	for i, l := range cfg.Listeners {
		if l == nil {
			add("listener #%d: nil", i)
			continue
		}
		a, err := netip.ParseAddr(l.Address)
		if err != nil || l.Port <= 0 || l.Port > 65535 {
			add("listener %s: not an IP address and port", l.Key())
			continue
		}
		ap := netip.AddrPortFrom(a, uint16(l.Port))
		if seen[ap] {
			add("listener %s: address and port listed twice", l.Key())
		}
		seen[ap] = true
		hosts := map[string]bool{}
		for j, vh := range l.VirtualHosts {
			if vh == nil || vh.Host == "" {
				add("listener %s: virtual host #%d: nil or without host", l.Key(), j)
				continue
			}
			if hosts[vh.Host] {
				add("listener %s: virtual host %q: listed twice", l.Key(), vh.Host)
			}
			hosts[vh.Host] = true
			validateVHost(cfg, vh, add)
		}
		if l.CatchAll != nil {
			validateVHost(cfg, l.CatchAll, add)
		}
		if l.DefaultCertificate != "" && cfg.Certificates[l.DefaultCertificate] == nil {
			add("listener %s: default certificate %q not in config", l.Key(), l.DefaultCertificate)
		}
	}
	return errors.Join(errs...)
}

// ListenerError is why the Gateway socket on ap could not be bound by the
// last configuration, nil when it is open or not asked for.
func (d *Dataplane) ListenerError(ap netip.AddrPort) error {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failed[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
}

// applyListeners makes the Gateway sockets those of cfg (under applyMu,
// after the shared snapshot is stored).
func (d *Dataplane) applyListeners(cfg *routecfg.Config) {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || (len(cfg.Listeners) == 0 && len(g.socks) == 0 && len(g.failed) == 0) {
		return
	}
	want := make(map[string]*routecfg.Listener, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		want[l.Key()] = l
	}
	for k, s := range g.socks {
		if _, ok := want[k]; !ok {
			delete(g.socks, k)
			d.retire(s)
		}
	}
	if g.socks == nil {
		g.socks = map[string]*gwSocket{}
	}
	g.failed = map[netip.AddrPort]error{}
	tracer := d.snap.Load().Tracer
	for k, l := range want {
		s := g.socks[k]
		if s == nil {
			var err error
			if s, err = d.openSocket(l); err != nil {
				a, _ := netip.ParseAddr(l.Address)
				g.failed[netip.AddrPortFrom(a.Unmap(), uint16(l.Port))] = err
				d.log.Warn("gateway listener cannot be bound; retried with the next configuration",
					"gateway", l.Gateway, "listener", k, "error", err)
				continue
			}
			g.socks[k] = s
			d.log.Info("gateway listener opened", "gateway", l.Gateway, "listener", k)
		}
		s.update(cfg, l, tracer)
		if g.ctx != nil && !s.served {
			d.serveSocket(g.ctx, s)
		}
	}
}

// refreshListeners gives the sockets cfg, which differs from the served
// one only in endpoints (ApplyEndpoints): their tables are kept.
func (d *Dataplane) refreshListeners(cfg *routecfg.Config) {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	tracer := d.snap.Load().Tracer
	for _, l := range cfg.Listeners {
		if s := g.socks[l.Key()]; s != nil {
			old := s.snap.Load()
			s.l = l
			s.snap.Store(&proxy.Snapshot{Table: old.Table, Config: listenerConfig(cfg, l), Tracer: tracer})
		}
	}
}

// openSocket binds l and builds what serves it.
func (d *Dataplane) openSocket(l *routecfg.Listener) (*gwSocket, error) {
	addr := net.JoinHostPort(l.Address, fmt.Sprint(l.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &gwSocket{key: l.Key(), l: l, port: l.Port, raw: ln}
	s.handler = d.newHandler(s.snap.Load)
	if l.Protocol == routecfg.ListenerTLS {
		s.certs = certs.New(d.defaultCert)
		s.tlsSrv = certs.NewServer(s.certs, d.now, []string{"h2", "http/1.1"})
		s.pass.Store(&passTable{})
	}
	return s, nil
}

// update serves cfg's hosts of l on s.
func (s *gwSocket) update(cfg *routecfg.Config, l *routecfg.Listener, tracer *tracing.Tracer) {
	lc := listenerConfig(cfg, l)
	var prev *router.Table
	if old := s.snap.Load(); old != nil {
		prev = old.Table
	}
	s.l = l
	if s.certs != nil {
		s.certs.Apply(lc)
		s.tlsSrv.Apply(lc)
		s.pass.Store(buildPassTable(lc))
	}
	s.snap.Store(&proxy.Snapshot{Table: router.CompileFrom(prev, lc), Config: lc, Tracer: tracer})
}

// serveSocket starts s's server (g.mu held).
func (d *Dataplane) serveSocket(ctx context.Context, s *gwSocket) {
	s.served = true
	lim := d.clientLimits()
	base := proxy.WithListenerPort(context.WithoutCancel(ctx), s.port)
	var protos http.Protocols
	protos.SetHTTP1(true)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: lim.HeaderTimeout,
		IdleTimeout:       lim.KeepAlive,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnContext:       clientconn.WithConn,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		Protocols:         &protos,
		ConnState:         d.metrics.ConnState,
	}
	if n := lim.HTTP2MaxConcurrentStreams; n > 0 {
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: n}
	} else {
		srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 128}
	}
	if lim.KeepAlive <= 0 {
		srv.SetKeepAlivesEnabled(false)
	}
	var ln net.Listener
	if s.certs != nil {
		protos.SetHTTP2(true)
		srv.ConnContext = connContext
		po := passthrough.Options{TLS: s.tlsSrv.Config(), Logger: d.log,
			Route:  func(sni string) (passthrough.Backend, bool) { return d.passRouteIn(s.pass.Load(), sni) },
			Active: func() bool { return s.pass.Load().names.Len() > 0 }}
		s.front = passthrough.New(d.gate.Listen(d.pp.Listen(s.raw, "https"), "https", true), po)
		ln = s.front
	} else {
		// Gateway HTTP listeners also speak h2c with prior knowledge
		// (gRPC clients in clear text); the Ingress HTTP listener does
		// not, as ingress-nginx's does not.
		protos.SetUnencryptedHTTP2(true)
		ln = d.gate.Listen(d.pp.Listen(s.raw, "http"), "http", false)
	}
	s.srv = srv
	s.serveErr = make(chan error, 1)
	gw, key := s.l.Gateway, s.key
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			d.log.Error("gateway listener stopped accepting", "gateway", gw, "listener", key, "error", err)
		}
		s.serveErr <- err
	}()
}

// retire stops s accepting and drains its connections in the background
// (g.mu held).
func (d *Dataplane) retire(s *gwSocket) {
	d.log.Info("gateway listener closed; its connections finish first", "gateway", s.l.Gateway, "listener", s.key)
	if !s.served {
		s.raw.Close()
		return
	}
	if s.front != nil {
		s.front.Close()
	}
	s.raw.Close()
	g := &d.gw
	g.retiring.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), retireTimeout)
		defer cancel()
		d.shutdownSocket(ctx, s)
	})
}

func (d *Dataplane) shutdownSocket(ctx context.Context, s *gwSocket) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
	})
	if s.front != nil {
		wg.Go(func() { s.front.Shutdown(ctx) })
	}
	wg.Wait()
	<-s.serveErr
}

// startListeners serves the bound Gateway sockets from Serve on.
func (d *Dataplane) startListeners(ctx context.Context) {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ctx = ctx
	keys := make([]string, 0, len(g.socks))
	for k := range g.socks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s := g.socks[k]; !s.served {
			d.serveSocket(ctx, s)
		}
	}
}

// stopListeners closes the Gateway sockets for the drain and returns
// their servers and TLS fronts; no socket opens afterwards.
func (d *Dataplane) stopListeners() (servers []*http.Server, fronts []*passthrough.Listener, wait func()) {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	var errcs []chan error
	for _, s := range g.socks {
		if s.front != nil {
			s.front.Close()
		}
		s.raw.Close()
		if s.served {
			servers = append(servers, s.srv)
			errcs = append(errcs, s.serveErr)
			if s.front != nil {
				fronts = append(fronts, s.front)
			}
		}
	}
	g.socks = nil
	return servers, fronts, func() {
		for _, c := range errcs {
			<-c
		}
		g.retiring.Wait()
	}
}

// GatewayListeners lists the open Gateway sockets ("address:port/protocol"),
// sorted, for tests and /debug.
func (d *Dataplane) GatewayListeners() []string {
	g := &d.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.socks))
	for k := range g.socks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
