// Package l4 serves the TCP and UDP services of ingress-nginx's
// --tcp-services-configmap and --udp-services-configmap: it listens on
// each routecfg.Stream's port and proxies raw bytes (TCP) or datagrams
// (UDP, in per-client sessions) to the ready endpoints of the stream's
// pool, round robin, as nginx's stream module does behind ingress-nginx's
// Lua balancer. A new configuration updates the endpoints of running ports
// in place (connections keep their upstream), closes the ports it dropped
// (established TCP connections go on) and opens the ports it added.
package l4

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Defaults of Options, nginx's stream defaults (ingress-nginx sets
// neither directive).
const (
	// DefaultConnectTimeout is nginx's proxy_connect_timeout.
	DefaultConnectTimeout = 60 * time.Second
	// DefaultProxyProtocolTimeout is nginx's proxy_protocol_timeout.
	DefaultProxyProtocolTimeout = 30 * time.Second
	// DefaultMaxUDPSessions bounds the sessions of one UDP port, so that
	// datagrams from spoofed sources cannot open sockets without end
	// (nginx is bounded by its worker_connections, 16384).
	DefaultMaxUDPSessions = 16384
)

// Options configures a Server. Zero values mean the defaults above.
type Options struct {
	// Host is the address the ports are bound on ("" for all, as nginx's
	// "listen PORT"); moat uses the host of --http-addr.
	Host                 string
	Logger               *slog.Logger
	Registerer           prometheus.Registerer
	ConnectTimeout       time.Duration
	ProxyProtocolTimeout time.Duration
	MaxUDPSessions       int
}

// Server runs the stream ports of the configuration last applied.
type Server struct {
	opts Options
	log  *slog.Logger
	m    *metrics

	mu      sync.Mutex
	cfg     *routecfg.Config
	started bool
	stopped bool
	ports   map[portKey]*port
	// failed is the last bind error per port, so that a port that stays
	// unavailable is logged once, not at every endpoint change.
	failed map[portKey]string

	// cut ends at the end of the drain: dials still under way stop.
	cut     context.Context
	cutStop context.CancelFunc
	// conns are the TCP connections being proxied, closed at the end of
	// the drain; wg counts them.
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

type portKey struct {
	proto routecfg.StreamProtocol
	port  int
}

func (k portKey) String() string { return string(k.proto) + "/" + strconv.Itoa(k.port) }

// port is one listening port; target changes with each configuration,
// rr (the round-robin position) survives them.
type port struct {
	key    portKey
	target atomic.Pointer[target]
	rr     atomic.Uint64
	close  func()
}

// target is what a port forwards to under one configuration.
type target struct {
	stream    *routecfg.Stream
	endpoints []string
	labels    []string // protocol, port, service
}

// New returns a Server that serves nothing until Start.
func New(opts Options) *Server {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.ProxyProtocolTimeout <= 0 {
		opts.ProxyProtocolTimeout = DefaultProxyProtocolTimeout
	}
	if opts.MaxUDPSessions <= 0 {
		opts.MaxUDPSessions = DefaultMaxUDPSessions
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cut, stop := context.WithCancel(context.Background())
	return &Server{opts: opts, log: log, m: newMetrics(opts.Registerer), ports: map[portKey]*port{}, failed: map[portKey]string{}, conns: map[net.Conn]struct{}{},
		cut: cut, cutStop: stop}
}

// Validate checks the streams of cfg: known pools with host:port
// endpoints, ports in range, no port twice per protocol.
func Validate(cfg *routecfg.Config) error {
	var errs []error
	seen := map[portKey]bool{}
	for i, s := range cfg.Streams {
		if s == nil {
			errs = append(errs, fmt.Errorf("stream #%d: nil", i))
			continue
		}
		k := portKey{s.Protocol, s.Port}
		switch {
		case s.Protocol != routecfg.StreamTCP && s.Protocol != routecfg.StreamUDP:
			errs = append(errs, fmt.Errorf("stream %s: unknown protocol", k))
		case s.Port < 1 || s.Port > 65535:
			errs = append(errs, fmt.Errorf("stream %s: port out of range", k))
		case seen[k]:
			errs = append(errs, fmt.Errorf("stream %s: listed twice", k))
		case cfg.Pools[s.Pool] == nil:
			errs = append(errs, fmt.Errorf("stream %s: pool %q missing", k, s.Pool))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// Apply makes cfg's streams the served ones (cfg passed Validate). Before
// Start it only records them.
func (s *Server) Apply(cfg *routecfg.Config) {
	if s == nil || cfg == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	if s.started && !s.stopped {
		s.syncLocked()
	}
}

// Start opens the ports of the configuration applied last; Apply opens
// and closes them from now on.
func (s *Server) Start() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
	if s.cfg != nil {
		s.syncLocked()
	}
}

// Ports reports the ports listening now, as "TCP/5432" (tests, debug).
func (s *Server) Ports() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ports))
	for k := range s.ports {
		out = append(out, k.String())
	}
	return out
}

// syncLocked opens, updates and closes ports to match s.cfg. A port that
// cannot be bound is logged and tried again at the next Apply.
func (s *Server) syncLocked() {
	want := make(map[portKey]*target, len(s.cfg.Streams))
	for _, st := range s.cfg.Streams {
		var eps []string
		if p := s.cfg.Pools[st.Pool]; p != nil {
			eps = make([]string, len(p.Endpoints))
			for i, e := range p.Endpoints {
				eps[i] = e.Address
			}
		}
		want[portKey{st.Protocol, st.Port}] = &target{stream: st, endpoints: eps,
			labels: []string{string(st.Protocol), strconv.Itoa(st.Port), st.Service}}
	}
	for k := range s.failed {
		if want[k] == nil {
			delete(s.failed, k)
		}
	}
	for k, p := range s.ports {
		if want[k] == nil {
			p.close()
			delete(s.ports, k)
			s.log.Info("stream port closed: no longer in the services ConfigMap (established connections go on)", "protocol", k.proto, "port", k.port)
		}
	}
	for k, t := range want {
		if p := s.ports[k]; p != nil {
			p.target.Store(t)
			continue
		}
		p := &port{key: k}
		p.target.Store(t)
		addr := net.JoinHostPort(s.opts.Host, strconv.Itoa(k.port))
		var err error
		if k.proto == routecfg.StreamTCP {
			err = s.listenTCP(p, addr)
		} else {
			err = s.listenUDP(p, addr)
		}
		if err != nil {
			s.m.listenErrors.WithLabelValues(t.labels...).Inc()
			level := slog.LevelError
			if s.failed[k] == err.Error() {
				level = slog.LevelDebug
			}
			s.failed[k] = err.Error()
			s.log.Log(context.Background(), level, "stream port cannot be opened; tried again at the next configuration change", "protocol", k.proto, "port", k.port, "service", t.stream.Service, "err", err)
			continue
		}
		delete(s.failed, k)
		s.ports[k] = p
		s.log.Info("stream port listening", "protocol", k.proto, "address", addr, "service", t.stream.Service,
			"proxy_protocol_decode", t.stream.ProxyDecode, "proxy_protocol_encode", t.stream.ProxyEncode)
	}
}

// Drain stops accepting: every port closes (UDP sessions with it), and
// TCP connections in flight get until ctx is done to finish; those left
// are then closed. It returns how many were cut.
func (s *Server) Drain(ctx context.Context) int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	s.stopped = true
	for k, p := range s.ports {
		p.close()
		delete(s.ports, k)
	}
	s.mu.Unlock()
	// A track that saw stopped false holds connMu until its wg.Add: once
	// connMu is ours, no Add can follow the Wait below.
	s.connMu.Lock()
	open := len(s.conns)
	s.connMu.Unlock()
	s.log.Debug("stream ports closed; draining their connections", "connections", open)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
	}
	s.cutStop()
	s.connMu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	<-done
	return n
}

// track registers a TCP connection for the drain; false once stopped.
func (s *Server) track(c net.Conn) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
	s.wg.Done()
}

// Active is the number of TCP connections being proxied.
func (s *Server) Active() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}

// next returns the endpoints in the order to try them for one
// connection: round robin from the port's position, at most tries (0:
// every endpoint once).
func (p *port) next(t *target, tries int) []string {
	n := len(t.endpoints)
	if n == 0 {
		return nil
	}
	if tries <= 0 || tries > n {
		tries = n
	}
	start := int((p.rr.Add(1) - 1) % uint64(n))
	out := make([]string, tries)
	for i := range out {
		out[i] = t.endpoints[(start+i)%n]
	}
	return out
}

// attempts is how many endpoints one connection may try.
func attempts(st routecfg.StreamSettings) int {
	if !st.NextUpstream {
		return 1
	}
	return st.NextUpstreamTries
}
