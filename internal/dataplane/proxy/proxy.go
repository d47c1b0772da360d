// Package proxy is the data plane's request handler. ServeHTTP is the
// route lookup, then the request-time steps in nginx's phase order, then
// one exchange-and-retry loop (package retry) under
// httputil.ReverseProxy. This package holds the order of the steps and
// the per-request state they share (reqState, pooled, read through no
// context value but the connection's, package connstate); what each step
// decides lives in a package of its own, with a narrow API, so the order
// stays readable: access, balance, clientbody, errorpage, extauth,
// fwdheaders, realip, respheaders, respwriter, rewrite, tracereq, vars,
// wafreq (and accesslog, attempt, spool, upgrade).
//
// A request reads the current Snapshot once and uses it to the end, so a
// config swap never changes the rules under a request in flight.
package proxy

import (
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/compress"
	"github.com/moat-ingress/moat/internal/dataplane/connstate"
	"github.com/moat-ingress/moat/internal/dataplane/limiter"
	"github.com/moat-ingress/moat/internal/dataplane/mirror"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/balance"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/clientbody"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/errorpage"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/extauth"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/fwdheaders"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/respheaders"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/respwriter"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/retry"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/rewrite"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/tracereq"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/upgrade"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/dataplane/proxy/wafreq"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Upgrades tracks upgraded connections (package upgrade).
type Upgrades = upgrade.Upgrades

// NewUpgrades returns an empty tracker.
func NewUpgrades() *Upgrades { return upgrade.NewUpgrades() }

// Backends returns how to reach a pool (package retry).
type Backends = retry.Backends

// Snapshot is one applied configuration: the compiled router table and
// the Config it was compiled from. Both are immutable.
type Snapshot struct {
	Table  *router.Table
	Config *routecfg.Config
	// Tracer exports the spans of Config.Tracing; nil when nothing is
	// traced (tracing.Manager.Apply).
	Tracer *tracing.Tracer
}

// Options configures a Handler.
type Options struct {
	// Snapshot returns the current configuration; it is called once per
	// request and must be cheap (an atomic load). nil results serve 404.
	Snapshot func() *Snapshot
	// Upstreams picks endpoints and records their state.
	Upstreams *upstream.Manager
	// Transport carries proxied requests (upstream.NewTransport); an
	// *http.Transport is fronted by an upstream.H1Transport, which
	// carries the bodiless plain-HTTP/1.1 requests itself.
	Transport http.RoundTripper
	// Backends, when set, chooses the transport and scheme per pool for
	// backend-protocol and proxy-ssl-* (package retry); Transport serves
	// pools it does not know.
	Backends Backends
	// HTTPSRedirectPort is the port in HTTP→HTTPS redirects; 0 means 443,
	// which is omitted from Location.
	HTTPSRedirectPort int
	// AccessLog receives one line per request, written with a single
	// Write call: the configuration's log-format-upstream, or moat's JSON
	// with AccessLogJSON. It must be safe for concurrent use (an *os.File
	// is). nil disables access logging.
	AccessLog     io.Writer
	AccessLogJSON bool
	// Logger receives upstream errors and ReverseProxy's own messages.
	// nil discards them.
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *metrics.Metrics
	// Now is the clock for access-log times and durations; nil: time.Now.
	Now func() time.Time
	// Version is moat's version for the Server header with server-tokens
	// on; "" reads it from the binary's build information.
	Version string
	// Upgrades, when set, tracks upgraded connections (WebSockets) for
	// the drain on shutdown (package upgrade).
	Upgrades *Upgrades
}

// Handler serves requests against the current Snapshot.
type Handler struct {
	snapshot  func() *Snapshot
	upstreams *upstream.Manager
	balancer  balance.Balancer
	// exchange is what every request's exchange-and-retry loop shares.
	exchange retry.Env
	// accessLog writes the access log (package accesslog); nil: off.
	accessLog    *accesslog.Writer
	logger       *slog.Logger
	metrics      *metrics.Metrics
	now          func() time.Time
	redirectPort string // "" when 443
	upgrades     *Upgrades
	// zones are the limit-* counters, kept across swaps.
	zones *limiter.Registry
	// states pools the request states; each carries a ReverseProxy whose
	// hooks are bound to it once, so the hooks get their state without a
	// context value (state.go).
	states sync.Pool
	// rpLog is the ReverseProxy's own error log.
	rpLog *log.Logger
	// errPages fetches the error pages (package errorpage).
	errPages errorpage.Backend
	// auth runs basic and external auth (package extauth).
	auth *extauth.Auth
	// server holds the Server header values (package respheaders).
	server respheaders.Server
	// encoders pools the compressors (compress.go).
	encoders *compress.Encoders
	// mirror sends Gateway API RequestMirror copies (package retry).
	mirror *mirror.Sender
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{
		snapshot:  opts.Snapshot,
		upstreams: opts.Upstreams,
		logger:    opts.Logger,
		metrics:   opts.Metrics,
		now:       opts.Now,
		upgrades:  opts.Upgrades,
		encoders:  compress.NewEncoders(),
	}
	h.zones = limiter.NewRegistry(zoneIdle)
	if h.snapshot == nil {
		h.snapshot = func() *Snapshot { return nil }
	}
	if h.upstreams == nil {
		h.upstreams = upstream.NewManager(upstream.Options{})
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.auth = extauth.New(h.logger, h.now)
	h.server = respheaders.NewServer(opts.Version)
	if opts.AccessLog != nil {
		h.accessLog = accesslog.NewWriter(opts.AccessLog, opts.AccessLogJSON, h.logger, h.metrics.AccessLogError)
	}
	if p := opts.HTTPSRedirectPort; p != 0 && p != 443 {
		h.redirectPort = strconv.Itoa(p)
	}
	transport := opts.Transport
	if transport == nil {
		transport = upstream.NewTransport(upstream.TransportOptions{})
	}
	if t, ok := transport.(*http.Transport); ok {
		transport = upstream.NewH1Transport(t, 0)
	}
	h.errPages = errorpage.Backend{Ups: h.upstreams, Transport: transport, Logger: h.logger}
	h.mirror = mirror.New(mirror.Options{Transport: transport, Upstreams: h.upstreams, Logger: h.logger, Count: h.metrics.MirrorCopy})
	// The fallback reaches pools when there are no Backends (tests).
	fallback := upstream.Backend{Transport: upstream.Std{RoundTripper: transport}, Scheme: "http"}
	if ex, ok := transport.(upstream.Exchanger); ok {
		fallback = upstream.Backend{Transport: ex, Scheme: "http"}
	}
	h.rpLog = slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn)
	if opts.Logger == nil {
		h.rpLog = log.New(io.Discard, "", 0)
	}
	h.balancer = balance.Balancer{Ups: h.upstreams, Now: h.now}
	h.exchange = retry.Env{Balancer: &h.balancer, Ups: h.upstreams, Mirror: h.mirror, Logger: h.logger, Now: h.now,
		ConnectError: h.metrics.UpstreamConnectError, Backends: opts.Backends, Fallback: fallback}
	h.states.New = h.newState
	return h
}

// listenerPort is the port the request arrived on: its listener's
// (connstate), else the scheme's.
func (st *reqState) listenerPort(r *http.Request) string {
	if st.conn != nil && st.conn.Port != "" {
		return st.conn.Port
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// localAddr is the address the client connected to, nil when unknown.
func (st *reqState) localAddr() net.Addr {
	if st.conn == nil {
		return nil
	}
	return st.conn.Local
}

// reqState is everything one request needs across the ReverseProxy hooks
// and the access log. Pooled: it is only referenced until ServeHTTP
// returns, as ReverseProxy calls every hook synchronously.
type reqState struct {
	// h and rp survive the reset between requests (state.go).
	h  *Handler
	rp httputil.ReverseProxy
	rw respwriter.Writer
	// conn is the client connection's state (connstate), nil outside
	// moat's listeners.
	conn *connstate.Conn
	// beHeaders: the picked backendRef's header modifier, nil for none.
	beHeaders *routecfg.Headers
	vh        *routecfg.VirtualHost
	rt        *routecfg.Route
	reqID     string
	port      string
	rewritten bool
	path      string // upstream path when rewritten
	rawQuery  string // upstream query when rewritten
	hsts      string // Strict-Transport-Security value to set, or ""

	// tr is the traffic families' state (policy_traffic.go).
	tr trafficReq

	// client is the client-certificate verdict (clientauth.go).
	client *certs.ClientResult
	// http is the HTTP families' request state (policy_http.go).
	http httpReq
	// waf is the WAF transaction (package wafreq).
	waf wafreq.Tx
	// uri is the normalised path the route was matched on ($uri).
	uri string
	// up is the exchange with the pool: endpoint, backend, the
	// exchange-and-retry loop and what it saw (package retry).
	up retry.Loop
	// body is the client's request body (package clientbody).
	body clientbody.Body
	// trace is the request's OpenTelemetry span (package tracereq).
	trace tracereq.Span
	// maxResponseHeader bounds the upstream's response header for the
	// plain-HTTP/1.1 transport (proxy-buffer-size); 0: its default, 1 MiB.
	// Buffering the response (proxy-buffering) is rw.HoldFlush.
	maxResponseHeader int64
	// cw compresses the response under rw when the ConfigMap says so
	// (compress.go).
	cw compress.Writer
}

// ServeHTTP implements http.Handler for servers that carry the
// connection's state in the request context (HTTP/3, tests); moat's own
// HTTP/1.1 and HTTP/2 servers call ServeConn through ForConn.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.ServeConn(w, r, connstate.From(r.Context()))
}

// ForConn is the handler of the requests of the connection whose state is
// c.
func (h *Handler) ForConn(c *connstate.Conn) http.Handler { return &connHandler{h: h, c: c} }

type connHandler struct {
	h *Handler
	c *connstate.Conn
}

func (ch *connHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { ch.h.ServeConn(w, r, ch.c) }

// ServeConn serves a request of the connection whose state is c (nil
// outside moat's listeners).
func (h *Handler) ServeConn(w http.ResponseWriter, r *http.Request, c *connstate.Conn) {
	start := h.now()
	st := h.states.Get().(*reqState)
	st.rw.W = w
	st.conn = c
	if h.upgrades != nil && r.Header["Upgrade"] != nil {
		st.rw.Upgrades, st.rw.WebSocket = h.upgrades, upgrade.IsWebSocket(r.Header)
	}
	// Deferred so that the access log and metrics also see requests whose
	// body copy ReverseProxy aborts with panic(http.ErrAbortHandler).
	defer h.finish(st, r, start)

	var table *router.Table
	var tracer *tracing.Tracer
	var traced *routecfg.Tracing
	lim := &defaultClients
	if s := h.snapshot(); s != nil {
		table, tracer = s.Table, s.Tracer
		st.tr.setConfig(s.Config)
		if s.Config != nil {
			traced = s.Config.Tracing
			st.http.global = s.Config.Global
			st.http.defBackend = s.Config.DefaultBackend
			if s.Config.Clients != nil {
				lim = s.Config.Clients
			}
		}
	}
	st.rw.Server = h.server.Value(st.http.global)
	if g := st.http.global; g != nil && g.DropUnderscoreHeaders {
		fwdheaders.DropUnderscore(r.Header)
	}
	// Templates in global response headers may name request variables
	// on answers given before applyEarly (connection limits).
	st.http.req = r
	// Match on the normalised path, as nginx does ($uri); the upstream
	// still gets the request URI as sent unless a rewrite applies.
	path := rewrite.CleanPath(r.URL.Path)
	vh, rt := table.LookupRequest(r.Host, path, r)
	st.vh, st.rt = vh, rt
	st.uri = path
	if g := st.http.global; g != nil && g.NoRequestIDGeneration {
		st.reqID = vars.ClientRequestID(r)
	} else {
		st.reqID = vars.RequestID(r)
	}
	if tracer != nil && traced != nil {
		st.trace.Start(tracer, r, traced, st.rt, path)
	}
	if h.clientGate(st, w, r, lim) {
		return
	}
	if r.TLS != nil && vh != nil {
		st.hsts = vh.HSTS
	}

	if r.TLS != nil && h.checkClientAuth(st, r, table, vh) {
		return
	}
	if h.applyEarly(st, r, path) {
		return
	}
	if !st.http.https && rewrite.WantsHTTPS(vh, rt) && !rewrite.NoTLSRedirect(st.http.global, rt, path) {
		h.redirectToHTTPS(st, r)
		return
	}
	if vh == nil || rt == nil {
		// ingress-nginx's default server and a host's unmatched paths
		// go to upstream-default-backend: --default-backend-service, or
		// the built-in 404.
		if rt = st.http.defBackend; rt == nil {
			h.local(st, http.StatusNotFound)
			return
		}
		st.rt, st.http.unmatched = rt, true
	}
	if h.trafficGate(st, r) {
		return
	}
	if rt.Policy != nil && rt.Policy.WAF != nil && h.applyWAF(st, r) {
		return
	}
	if rt.Policy != nil && h.applyHTTPPolicies(st, r) {
		return
	}
	if rt.URLRedirect != nil {
		h.redirect(st, rt.URLRedirect.Code, rewrite.URLRedirect(r, st.listenerPort(r), path, rt.URLRedirect))
		return
	}
	if rt.Rewrite != nil && h.applyRewrite(st, r, path) {
		return
	}
	if rt.PathRewrite != nil {
		st.rewritten, st.path, st.rawQuery = true, rewrite.ModifyPath(rt.PathRewrite, path), r.URL.RawQuery
	}
	pool, code := rt.Pool, rt.Status
	if rt.Backends != nil {
		var be *routecfg.Backend
		pool, code, be = balance.PickBackend(rt.Backends)
		if be != nil {
			st.beHeaders = be.Headers
		}
	}
	if pool == "" {
		if code == 0 {
			code = http.StatusServiceUnavailable
		}
		h.local(st, code)
		return
	}
	ep := h.pickEndpoint(st, r, pool)
	if ep == nil {
		if st.http.unmatched {
			// A default backend without endpoints: ingress-nginx puts
			// its internal 404 server in the upstream instead.
			h.local(st, http.StatusNotFound)
			return
		}
		h.local(st, http.StatusServiceUnavailable)
		return
	}
	st.up.EP = ep
	ep.Acquire()
	http10 := rt.Policy != nil && rt.Policy.Headers != nil && rt.Policy.Headers.HTTP10
	st.up.Choose(&h.exchange, st.up.Pick.Pool(), http10) // the canary's pool when the canary was chosen
	st.port = st.listenerPort(r)
	st.up.Start(&h.exchange, st.rt, st.timeouts(), st.bodyPolicy(), &st.rw, st.maxResponseHeader, st.localAddr(), st.reqID, r.Context())
	h.startCompression(st, w, r)
	st.rp.ServeHTTP(&st.rw, r)
	st.cw.Close() //nolint:errcheck // the client may be gone; nothing to do
}

func (h *Handler) finish(st *reqState, r *http.Request, start time.Time) {
	end := h.now()
	if st.up.EP != nil {
		st.up.EP.Release()
	}
	st.endCompression()
	status := st.rw.Status
	if status == 0 {
		// Nothing written: a handler that returned without a body
		// gets an implicit 200 from net/http.
		status = http.StatusOK
	}
	if h.metrics != nil {
		h.observe(st, r, start, end, status)
	}
	if h.accessLog != nil && accessLogged(st) && accesslog.Logged(st.http.global, r) && (st.vh != nil && (st.vh.Host != "" || st.rt != nil) || accesslog.DefaultBackendLogged(st.http.global)) {
		h.writeAccessLog(st, r, start, end, status)
	}
	if st.trace.Active() {
		h.traceEnd(st, r, start, end, status)
	}
	h.trafficFinish(st)
	if st.waf.Active() {
		st.waf.Finish(h.logger, r, st.rt, status)
	}
	st.reset()
	h.states.Put(st)
}
