// Package proxy is the data plane's request handler: route lookup,
// HTTP→HTTPS redirects, rewrites, local answers (404, 503) and proxying to
// an upstream endpoint with httputil.ReverseProxy's Rewrite hook.
//
// A request reads the current Snapshot once and uses it to the end, so a
// config swap never changes the rules under a request in flight.
package proxy

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/compress"
	"github.com/moat-ingress/moat/internal/dataplane/mirror"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/tracing"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

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
	// backend-protocol and proxy-ssl-* (backend.go); Transport serves
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
	// the drain on shutdown (upgrades.go).
	Upgrades *Upgrades
}

// Handler serves requests against the current Snapshot.
type Handler struct {
	snapshot  func() *Snapshot
	upstreams *upstream.Manager
	accessLog io.Writer
	// accessLogJSON: moat's JSON lines instead of log-format-upstream.
	accessLogJSON bool
	logger        *slog.Logger
	metrics       *metrics.Metrics
	now           func() time.Time
	redirectPort  string // "" when 443
	backends      Backends
	upgrades      *Upgrades
	traffic       trafficState
	rp            *httputil.ReverseProxy
	// errTransport carries the error-page requests: plain HTTP, as
	// ingress-nginx's @custom_ locations proxy_pass http://.
	errTransport http.RoundTripper
	// http is the HTTP families' shared state (policy_http.go).
	http httpHandlerState
	// server holds the Server header values (server.go).
	server serverHeader
	// logFailed is set once an access-log write has failed (accesslog.go).
	logFailed atomic.Bool
	// encoders pools the compressors (compress.go).
	encoders *compress.Encoders
	// mirror sends Gateway API RequestMirror copies (transport_traffic.go).
	mirror *mirror.Sender
}

// New returns a Handler. One ReverseProxy is built here and shared by all
// requests; per-request data travels in the request context.
func New(opts Options) *Handler {
	h := &Handler{
		snapshot:      opts.Snapshot,
		upstreams:     opts.Upstreams,
		accessLog:     opts.AccessLog,
		accessLogJSON: opts.AccessLogJSON,
		logger:        opts.Logger,
		metrics:       opts.Metrics,
		now:           opts.Now,
		backends:      opts.Backends,
		upgrades:      opts.Upgrades,
		encoders:      compress.NewEncoders(),
	}
	h.traffic = newTrafficState()
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
	h.http.authClient = newAuthClient()
	h.server = newServerHeader(opts.Version)
	h.http.authToken = newAuthToken()
	// A buffered access log (linebuf) writes in the background: its
	// failures come back through the handler.
	if eh, ok := h.accessLog.(interface{ SetErrorHandler(func(error)) }); ok {
		eh.SetErrorHandler(h.accessLogFailed)
	}
	if p := opts.HTTPSRedirectPort; p != 0 && p != 443 {
		h.redirectPort = strconv.Itoa(p)
	}
	transport := opts.Transport
	if transport == nil {
		transport = upstream.NewTransport(upstream.TransportOptions{})
	}
	if t, ok := transport.(*http.Transport); ok {
		transport = upstream.NewH1Transport(t)
	}
	h.errTransport = transport
	h.mirror = mirror.New(mirror.Options{Transport: transport, Upstreams: h.upstreams, Logger: h.logger, Count: h.metrics.MirrorCopy})
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewriteOut,
		Transport:      &trafficTransport{h: h, base: dispatch{fallback: transport}},
		ModifyResponse: h.modifyResponse,
		ErrorHandler:   h.errorHandler,
		// No flush after every write (a timer goroutine per response and
		// the header in a TLS record of its own). ingress-nginx's
		// proxy-buffering is off by default, so streamed responses must
		// still reach the client as they come: the response body flushes
		// when the upstream has nothing more to read yet (respBody,
		// ExchangeHook.UpstreamWait), and ReverseProxy itself flushes
		// bodies of unknown length and event streams after each write.
		FlushInterval: 0,
		BufferPool:    bufferPool{},
		ErrorLog:      slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn),
	}
	if opts.Logger == nil {
		h.rp.ErrorLog = log.New(io.Discard, "", 0)
	}
	return h
}

// listenerKey carries the listener's port in the request context.
type listenerKey struct{}

// WithListenerPort returns ctx carrying port as the listener's port for
// X-Forwarded-Port. Use it as the http.Server's BaseContext so the value
// costs nothing per request.
func WithListenerPort(ctx context.Context, port int) context.Context {
	return context.WithValue(ctx, listenerKey{}, strconv.Itoa(port))
}

// listenerPort is the port the request arrived on: the one set by
// WithListenerPort, else the connection's local port, else the scheme's.
func listenerPort(r *http.Request) string {
	ctx := r.Context()
	if p, ok := ctx.Value(listenerKey{}).(string); ok {
		return p
	}
	if a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			return p
		}
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// stateKey carries *reqState from ServeHTTP to the ReverseProxy hooks.
type stateKey struct{}

// reqState is everything one request needs across the ReverseProxy hooks
// and the access log. Pooled: it is only referenced until ServeHTTP
// returns, as ReverseProxy calls every hook synchronously.
type reqState struct {
	rw responseWriter
	// beHeaders: the picked backendRef's header modifier, nil for none.
	beHeaders *routecfg.Headers
	vh        *routecfg.VirtualHost
	rt        *routecfg.Route
	ep        *upstream.Endpoint
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
	// backend is the pool's transport and scheme (backend.go).
	backend upstream.Backend
	// http is the HTTP families' request state (policy_http.go).
	http httpReq
	// waf is the WAF transaction (waf.go).
	waf wafReq
	// obs is what the access log and metrics report about the exchange.
	obs observation
	// body is the client's request body (client.go).
	body clientBody
	// trace is the request's OpenTelemetry span (tracing.go).
	trace traceReq
	// maxResponseHeader bounds the upstream's response header for the
	// plain-HTTP/1.1 transport (proxy-buffer-size); 0: its default, 1 MiB.
	// Buffering the response (proxy-buffering) is rw.holdFlush.
	maxResponseHeader int64
	// cw compresses the response under rw when the ConfigMap says so
	// (compress.go).
	cw compress.Writer
}

var statePool = sync.Pool{New: func() any { return new(reqState) }}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	st := statePool.Get().(*reqState)
	st.rw.w = w
	if h.upgrades != nil && r.Header["Upgrade"] != nil {
		st.rw.upgrades, st.rw.websocket = h.upgrades, isWebSocket(r.Header)
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
	st.rw.server = h.server.value(st.http.global)
	if g := st.http.global; g != nil && g.DropUnderscoreHeaders {
		dropUnderscoreHeaders(r.Header)
	}
	// Templates in global response headers may name request variables
	// on answers given before applyEarly (connection limits).
	st.http.req = r
	// Match on the normalised path, as nginx does ($uri); the upstream
	// still gets the request URI as sent unless a rewrite applies.
	path := cleanPath(r.URL.Path)
	vh, rt := table.LookupRequest(r.Host, path, r)
	st.vh, st.rt = vh, rt
	st.obs.uri = path
	if g := st.http.global; g != nil && g.NoRequestIDGeneration {
		st.reqID = clientRequestID(r)
	} else {
		st.reqID = requestID(r)
	}
	if tracer != nil && traced != nil {
		h.traceStart(st, r, tracer, traced, path)
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
	if !st.http.https && wantsHTTPS(vh, rt) && !h.noTLSRedirect(st, path) {
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
	if rt.Policy != nil && h.applyPolicy(st, r) {
		return
	}
	if rt.URLRedirect != nil {
		h.urlRedirect(st, r, path, rt.URLRedirect)
		return
	}
	if rt.Rewrite != nil && h.applyRewrite(st, r, path) {
		return
	}
	if rt.PathRewrite != nil {
		st.rewritten, st.path, st.rawQuery = true, modifyPath(rt.PathRewrite, path), r.URL.RawQuery
	}
	pool, code := rt.Pool, rt.Status
	if rt.Backends != nil {
		var be *routecfg.Backend
		pool, code, be = pickBackend(rt.Backends)
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
	st.ep = ep
	ep.Acquire()
	h.chooseBackend(st, st.tr.pool) // the canary's pool when the canary was chosen
	st.port = listenerPort(r)
	h.startCompression(st, w, r)
	h.rp.ServeHTTP(&st.rw, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	st.cw.Close() //nolint:errcheck // the client may be gone; nothing to do
}

// wantsHTTPS is ingress-nginx's redirect_to_https for a plain-HTTP request
// (lua_ingress.lua): force-ssl-redirect always, ssl-redirect only when the
// host has TLS; unmatched paths follow the host's setting.
func wantsHTTPS(vh *routecfg.VirtualHost, rt *routecfg.Route) bool {
	if rt != nil {
		return rt.ForceSSLRedirect || (vh != nil && vh.TLS && rt.SSLRedirect)
	}
	return vh != nil && vh.RedirectHTTPS
}

// acmePrefix is ingress-nginx's default no-tls-redirect-locations, so
// HTTP-01 challenges are answered over plain HTTP.
const acmePrefix = "/.well-known/acme-challenge/"

func isACMEChallenge(path string) bool {
	return len(path) >= len(acmePrefix) && path[:len(acmePrefix)] == acmePrefix
}

func (h *Handler) finish(st *reqState, r *http.Request, start time.Time) {
	end := h.now()
	if st.ep != nil {
		st.ep.Release()
	}
	st.endCompression()
	status := st.rw.status
	if status == 0 {
		// Nothing written: a handler that returned without a body
		// gets an implicit 200 from net/http.
		status = http.StatusOK
	}
	if h.metrics != nil {
		h.observe(st, r, start, end, status)
	}
	if h.accessLog != nil && accessLogged(st) && globallyLogged(st.http.global, r) && (st.vh != nil && (st.vh.Host != "" || st.rt != nil) || defaultBackendLogged(st.http.global)) {
		h.writeAccessLog(st, r, start, end, status)
	}
	if st.trace.span != nil {
		h.traceEnd(st, r, start, end, status)
	}
	h.trafficFinish(st)
	if st.waf.tx != nil {
		h.wafFinish(st, r, status)
	}
	*st = reqState{}
	statePool.Put(st)
}

// bufferPool recycles ReverseProxy's copy buffers. Pooling array pointers
// (not slices) keeps Put from allocating a slice header.
type bufferPool struct{}

const copyBufferSize = 32 << 10

var copyBuffers = sync.Pool{New: func() any { return new([copyBufferSize]byte) }}

func (bufferPool) Get() []byte { return copyBuffers.Get().(*[copyBufferSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		copyBuffers.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}
