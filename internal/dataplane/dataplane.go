// Package dataplane wires moat's serving side: it validates each new
// routecfg.Config, swaps it in whole (router table by one atomic pointer
// store, certificates, upstream pools), and runs the HTTP and HTTPS
// listeners. It never imports Kubernetes packages.
package dataplane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/gwsock"
	"github.com/moat-ingress/moat/internal/dataplane/l4"
	"github.com/moat-ingress/moat/internal/dataplane/proxy"
	"github.com/moat-ingress/moat/internal/dataplane/proxyprotocol"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Server limits. The timeouts come from the configuration's ClientLimits
// (clients.go). No ReadTimeout or WriteTimeout: they would cut long
// uploads, streamed responses and WebSockets; nginx likewise only times
// out idle reads and writes.
const (
	// maxHeaderBytes is above nginx's large_client_header_buffers
	// (4 × 8 KiB) and far below net/http's 1 MiB default.
	maxHeaderBytes = 64 << 10
	// DefaultShutdownTimeout is how long Serve drains requests, streams
	// and WebSockets after ctx is done: ingress-nginx's
	// worker-shutdown-timeout default (deploy/ sets the pod's
	// terminationGracePeriodSeconds to cover it).
	DefaultShutdownTimeout = 240 * time.Second
)

// Options configures a Dataplane.
type Options struct {
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// AccessLog receives one line per request; nil disables it. It
	// must be safe for concurrent writes (an *os.File is).
	AccessLog io.Writer
	// AccessLogJSON writes moat's JSON lines instead of the
	// configuration's log-format-upstream (--access-log-format=json).
	AccessLogJSON bool
	// Metrics may be nil.
	Metrics *metrics.Metrics
	// HTTPSRedirectPort is the port in HTTP→HTTPS redirects; 0 means 443.
	HTTPSRedirectPort int
	// DefaultCert is served for unknown SNI until (and unless) a config
	// names a DefaultCertificate; see certs.GenerateDefault. Required.
	DefaultCert *tls.Certificate

	// ConnectTimeout and ResponseHeaderTimeout bound upstream exchanges;
	// zero means upstream's defaults (5 s and 60 s, as ingress-nginx).
	ConnectTimeout        time.Duration
	ResponseHeaderTimeout time.Duration
	// ShutdownTimeout bounds the graceful drain in Serve; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Now is the clock for metrics and logs; nil means time.Now.
	Now func() time.Time
	// Tracing configures OpenTelemetry's exporters (Logger and Metrics
	// default to the ones above).
	Tracing tracing.Options
	// EnableSSLPassthrough is kept for callers: the data plane forwards
	// every passthrough host of the config (tls.go), and translate decides
	// which hosts those are.
	EnableSSLPassthrough bool
	// Streams serves the configuration's TCP and UDP services; nil
	// serves none.
	Streams *l4.Server
}

// Dataplane serves the last good configuration.
type Dataplane struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	now     func() time.Time
	// shutdownTimeout bounds the drain (nanoseconds; SetShutdownTimeout);
	// upgrades are the WebSockets it waits for (drain.go).
	shutdownTimeout atomic.Int64
	upgrades        *proxy.Upgrades

	snap      atomic.Pointer[proxy.Snapshot]
	certs     *certs.Store
	upstreams *upstream.Manager
	transport *http.Transport
	handler   *proxy.Handler
	// tracing owns the OpenTelemetry provider of the served config
	// (tracing.go).
	tracing *tracing.Manager

	// TLS (tls.go): per-SNI server configs, per-pool backend transports,
	// passthrough hosts.
	tlsServer *certs.Server
	backends  *upstream.Transports
	pass      atomic.Pointer[passTable]
	// streams are the TCP and UDP services (l4); nil-safe.
	streams *l4.Server

	// gate counts and limits client connections (clients.go); serving
	// is the listeners' servers (serve.go).
	gate    *clientconn.Gate
	serving serving
	// pp reads PROXY headers under the gate when use-proxy-protocol is
	// on (clients.go).
	pp *proxyprotocol.Reader
	// h3 is the HTTP/3 listener, nil unless EnableHTTP3 (http3.go).
	h3 *h3Listener

	// gw are the Gateways' own sockets (gwlisteners.go); handlerOpts
	// builds their handlers, defaultCert their certificate stores.
	gw          *gwsock.Set
	handlerOpts proxy.Options
	defaultCert *tls.Certificate

	applyMu sync.Mutex // serialises Apply; requests never take it
	// keptPools is set when the last Apply kept pools its config dropped
	// (for requests still on the old snapshot); the next Apply drops them.
	keptPools bool
	// unpruned counts hosts removed since the metrics were last pruned
	// (apply_metrics.go).
	unpruned int
}

// New returns a Dataplane serving an empty configuration (every request
// gets 404) until the first Apply.
func New(opts Options) (*Dataplane, error) {
	if opts.DefaultCert == nil {
		return nil, errors.New("dataplane: no default certificate (see certs.GenerateDefault)")
	}
	d := &Dataplane{
		log:      opts.Logger,
		metrics:  opts.Metrics,
		now:      opts.Now,
		upgrades: proxy.NewUpgrades(),
	}
	d.SetShutdownTimeout(opts.ShutdownTimeout)
	d.tracing = newTracing(opts)
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.gate = clientconn.NewGate(clientconn.Options{Logger: d.log, OnRefused: d.metrics.ClientConnRefused, OnAcceptError: d.metrics.ClientAcceptError})
	d.pp = proxyprotocol.New(proxyprotocol.Options{Logger: d.log, OnError: d.metrics.ProxyProtocolError})
	d.applyClients(nil)
	d.certs = certs.New(opts.DefaultCert)
	d.tlsServer = certs.NewServer(d.certs, d.now, []string{"h2", "http/1.1"})
	d.streams = opts.Streams
	d.pass.Store(&passTable{})
	d.upstreams = upstream.NewManager(upstream.Options{Now: d.now})
	d.transport = upstream.NewTransport(upstream.TransportOptions{
		ConnectTimeout:        opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
	})
	d.backends = upstream.NewTransports(upstream.TransportOptions{
		ConnectTimeout:        opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
		Logger:                d.log,
	}, d.transport)
	empty := &routecfg.Config{}
	d.snap.Store(&proxy.Snapshot{Table: router.Compile(empty), Config: empty})
	d.defaultCert = opts.DefaultCert
	d.handlerOpts = proxy.Options{
		Upstreams:         d.upstreams,
		Transport:         d.transport,
		Backends:          d.backends,
		HTTPSRedirectPort: opts.HTTPSRedirectPort,
		AccessLog:         opts.AccessLog,
		AccessLogJSON:     opts.AccessLogJSON,
		Logger:            d.log,
		Metrics:           d.metrics,
		Now:               d.now,
		Upgrades:          d.upgrades,
	}
	d.handler = d.newHandler(d.snap.Load)
	d.gw = d.newGatewaySockets()
	return d, nil
}

// newHandler is a request handler serving the snapshots snap returns.
func (d *Dataplane) newHandler(snap func() *proxy.Snapshot) *proxy.Handler {
	o := d.handlerOpts
	o.Snapshot = snap
	return proxy.New(o)
}

// Handler is the request handler, for tests and for callers that run
// their own servers.
func (d *Dataplane) Handler() http.Handler { return d.handler }

// Config returns the configuration being served (the empty one before the
// first successful Apply).
func (d *Dataplane) Config() *routecfg.Config { return d.snap.Load().Config }

// Apply validates cfg and, if it is valid, makes it the served
// configuration: certificates, then pools, then the router table in one
// atomic store. Requests in flight finish on the snapshot they loaded. An
// invalid cfg changes nothing and the last good configuration keeps
// serving.
func (d *Dataplane) Apply(cfg *routecfg.Config) error {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	cur := d.snap.Load()
	var table *router.Table
	delta, deltaOK := cur.Table.Diff(cfg)
	if cfg != nil {
		table = router.CompileFrom(cur.Table, cfg)
	}
	err := validateFrom(cur, table, cfg)
	if err == nil {
		err = l4.Validate(cfg)
	}
	if err != nil {
		d.metrics.ConfigApplied(false, d.now())
		return fmt.Errorf("config rejected, keeping the last good one: %w", err)
	}
	d.applyClients(cfg.Clients)
	d.certs.Apply(cfg)
	d.tlsServer.Apply(cfg)
	// Pools are added before the swap, and a pool the new config drops is
	// kept until the next Apply: a request that loaded the old snapshot can
	// pick its endpoint a moment after the swap (longer on a loaded
	// machine), and must still find the pool rather than answer 503.
	prev := cur.Config
	// The same pools as served (a change to one Ingress) need nothing,
	// unless the last Apply kept dropped ones, which go now.
	if d.keptPools || !samePools(prev.Pools, cfg.Pools) {
		pools := cfg.Pools
		gone := removedPools(prev.Pools, cfg.Pools)
		if len(gone) > 0 {
			for k, p := range cfg.Pools {
				gone[k] = p
			}
			pools = gone
		}
		d.keptPools = len(gone) > 0
		d.upstreams.Apply(pools)
		d.backends.Apply(pools)
	}
	d.pass.Store(buildPassTable(cfg))
	d.snap.Store(&proxy.Snapshot{Table: table, Config: cfg, Tracer: d.tracing.Apply(cfg.Tracing)})
	d.gw.Apply(cfg, d.snap.Load().Tracer)
	d.streams.Apply(cfg)
	d.updateMetrics(prev, cfg, delta, deltaOK)
	d.metrics.ConfigApplied(true, d.now())
	return nil
}

// ApplyEndpoints serves cfg, which must differ from the served
// configuration only in the endpoints of the pools named by keys (see
// translate.UpdateEndpoints): those pools get their new endpoints and cfg
// replaces the served config without recompiling routes, certificates or
// transports. It refuses, changing nothing, when a pool is unknown or an
// address invalid; the caller then applies cfg in full.
func (d *Dataplane) ApplyEndpoints(cfg *routecfg.Config, keys []string) error {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	cur := d.snap.Load()
	update := make(map[string][]routecfg.Endpoint, len(keys))
	for _, k := range keys {
		p, old := cfg.Pools[k], cur.Config.Pools[k]
		if p == nil || old == nil || p.Key != k || p.Protocol != old.Protocol || p.TLS != old.TLS {
			return fmt.Errorf("endpoint update: pool %q is not a served pool with new endpoints", k)
		}
		for _, e := range p.Endpoints {
			if _, port, err := net.SplitHostPort(e.Address); err != nil || port == "" {
				return fmt.Errorf("endpoint update: pool %q: endpoint address %q is not host:port", k, e.Address)
			}
		}
		update[k] = p.Endpoints
	}
	if unknown := d.upstreams.SetEndpoints(update); len(unknown) > 0 {
		// Pools of the served config are always known; a bug otherwise.
		return fmt.Errorf("endpoint update: pools %q unknown to the upstream manager", unknown)
	}
	d.snap.Store(&proxy.Snapshot{Table: cur.Table, Config: cfg, Tracer: d.tracing.Apply(cfg.Tracing)})
	d.gw.Refresh(cfg, d.snap.Load().Tracer)
	d.streams.Apply(cfg)
	d.metrics.ConfigApplied(true, d.now())
	return nil
}

// samePools reports whether a and b hold the same *Pool under each key.
func samePools(a, b map[string]*routecfg.Pool) bool {
	if len(a) != len(b) {
		return false
	}
	if sameMap(a, b) {
		return true
	}
	for k, p := range b {
		if q, ok := a[k]; !ok || q != p {
			return false
		}
	}
	return true
}

// sameMap reports whether a and b are one map (an incremental translate
// passes the last config's maps on when nothing in them changed).
func sameMap[M ~map[string]V, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// removedPools returns the pools of prev that next no longer has.
func removedPools(prev, next map[string]*routecfg.Pool) map[string]*routecfg.Pool {
	var gone map[string]*routecfg.Pool
	for k, p := range prev {
		if _, ok := next[k]; !ok {
			if gone == nil {
				gone = make(map[string]*routecfg.Pool, len(next)+1)
			}
			gone[k] = p
		}
	}
	return gone
}

// maxErrors bounds the errors Validate reports; the first few name the
// bug, thousands would only flood the log.
const maxErrors = 20

// Validate checks everything the data plane relies on in cfg: no nil
// entries, every route's pool and every host's certificate present,
// regexes compiled, header values that can be sent. translate produces
// valid configs; this guards the swap against a bug there.
func Validate(cfg *routecfg.Config) error {
	if cfg == nil {
		return errors.New("config is nil")
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	for key, c := range cfg.Certificates {
		if err := checkCert(c); err != nil {
			add("certificate %q: %v", key, err)
		} else if c.Ref != key {
			add("certificate %q: Ref is %q", key, c.Ref)
		}
	}
	if c := cfg.DefaultCertificate; c != nil {
		if err := checkCert(c); err != nil {
			add("default certificate %q: %v", c.Ref, err)
		}
	}
	for key, p := range cfg.Pools {
		if p == nil {
			add("pool %q: nil", key)
			continue
		}
		if p.Key != key {
			add("pool %q: Key is %q", key, p.Key)
		}
		validatePoolTLS(key, p, add)
		for _, e := range p.Endpoints {
			if _, port, err := net.SplitHostPort(e.Address); err != nil || port == "" {
				add("pool %q: endpoint address %q is not host:port", key, e.Address)
			}
		}
	}
	seen := make(map[string]bool, len(cfg.VirtualHosts))
	for i, vh := range cfg.VirtualHosts {
		if vh == nil {
			add("virtual host #%d: nil", i)
			continue
		}
		if vh.Host == "" {
			add("virtual host #%d: empty host (only the catch-all has none)", i)
		}
		h := strings.ToLower(vh.Host)
		if seen[h] {
			add("virtual host %q: listed twice", vh.Host)
		}
		seen[h] = true
		validateVHost(cfg, vh, add)
	}
	if cfg.CatchAll != nil {
		validateVHost(cfg, cfg.CatchAll, add)
	}
	validateServerTLS(cfg.ServerTLS, add)
	if err := validateListeners(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateFrom is Validate(cfg) for a cfg compiled into table, knowing
// that cur (served, so valid) holds the same pools, certificates and TLS
// policy: then only the hosts cur does not serve as they are need checking,
// and a duplicate host shows as fewer hosts in table. Otherwise, or when
// in doubt, it is Validate.
func validateFrom(cur *proxy.Snapshot, table *router.Table, cfg *routecfg.Config) error {
	prev := cur.Config
	if cfg == nil || table == nil || prev == nil || cfg.DefaultCertificate != prev.DefaultCertificate || cfg.ServerTLS != prev.ServerTLS ||
		!samePools(prev.Pools, cfg.Pools) || !sameCerts(prev.Certificates, cfg.Certificates) {
		return Validate(cfg)
	}
	hosts := 0
	for _, vh := range cfg.VirtualHosts {
		if vh == nil || vh.Host == "" {
			return Validate(cfg)
		}
		hosts++
	}
	if table.Hosts() != hosts {
		return Validate(cfg) // a host listed twice, or an odd spelling
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	// A host of the served config was valid with the same pools and
	// certificates. Both lists are sorted by host when translate made
	// them, so one walk finds most; the table is asked for the rest.
	pv, i := prev.VirtualHosts, 0
	for _, vh := range cfg.VirtualHosts {
		for i < len(pv) && pv[i] != nil && pv[i].Host < vh.Host {
			i++
		}
		if i < len(pv) && pv[i] == vh {
			i++
			continue
		}
		if !cur.Table.Compiled(vh) {
			validateVHost(cfg, vh, add)
		}
	}
	if cfg.CatchAll != nil && cfg.CatchAll != prev.CatchAll {
		validateVHost(cfg, cfg.CatchAll, add)
	}
	if err := validateListeners(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sameCerts reports whether a and b hold the same *Certificate under each
// key.
func sameCerts(a, b map[string]*routecfg.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	if sameMap(a, b) {
		return true
	}
	for k, c := range b {
		if q, ok := a[k]; !ok || q != c {
			return false
		}
	}
	return true
}

func validateVHost(cfg *routecfg.Config, vh *routecfg.VirtualHost, add func(string, ...any)) {
	name := vh.Host
	if name == "" {
		name = "_" // the catch-all
	}
	if vh.Certificate != "" {
		if _, ok := cfg.Certificates[vh.Certificate]; !ok {
			add("host %q: certificate %q not in config", name, vh.Certificate)
		}
	}
	validateTLS(cfg, vh, name, add)
	if vh.HSTS != "" && !httpguts.ValidHeaderFieldValue(vh.HSTS) {
		add("host %q: HSTS value %q is not a valid header value", name, vh.HSTS)
	}
	for i, rt := range vh.Routes {
		if rt == nil {
			add("host %q: route #%d: nil", name, i)
			continue
		}
		// Named only when needed: formatting it for each of 10,000
		// valid routes was a tenth of an Apply.
		where := func() string {
			w := fmt.Sprintf("host %q route %q", name, rt.Path)
			if rt.Source.Ingress != "" {
				w += fmt.Sprintf(" (ingress %s/%s)", rt.Source.Namespace, rt.Source.Ingress)
			}
			return w
		}
		switch rt.Match {
		case routecfg.MatchExact, routecfg.MatchPrefix:
		case routecfg.MatchRegex:
			if rt.Regex == nil {
				add("%s: Regex match without a compiled regex", where())
			}
		default:
			add("%s: unknown match kind %d", where(), rt.Match)
		}
		if rt.Rewrite != nil && rt.Rewrite.Pattern == nil {
			add("%s: rewrite without a compiled pattern", where())
		}
		if rt.Policy != nil {
			validateTraffic(cfg, rt, where(), add)
		}
		if rt.Pool != "" {
			if cfg.Pools[rt.Pool] == nil {
				add("%s: pool %q not in config", where(), rt.Pool)
			}
		} else if rt.Status != 0 && (rt.Status < 200 || rt.Status > 599) {
			add("%s: status %d is not a final HTTP status", where(), rt.Status)
		}
		for _, be := range rt.Backends {
			switch {
			case be.Weight < 0:
				add("%s: backend weight %d is negative", where(), be.Weight)
			case be.Pool != "" && cfg.Pools[be.Pool] == nil:
				add("%s: pool %q not in config", where(), be.Pool)
			case be.Pool == "" && (be.Status < 200 || be.Status > 599):
				add("%s: backend status %d is not a final HTTP status", where(), be.Status)
			}
		}
		if rd := rt.URLRedirect; rd != nil && (rd.Code < 300 || rd.Code > 399) {
			add("%s: redirect code %d is not a 3xx", where(), rd.Code)
		}
	}
}

func checkCert(c *routecfg.Certificate) error {
	switch {
	case c == nil:
		return errors.New("nil")
	case c.Cert == nil || len(c.Cert.Certificate) == 0:
		return errors.New("no certificate")
	case c.Cert.PrivateKey == nil:
		return errors.New("no private key")
	case c.Cert.Leaf == nil:
		return errors.New("leaf certificate not parsed (Cert.Leaf is nil)")
	}
	return nil
}
