// Package tracing is OpenTelemetry in the data plane, as ingress-nginx's
// otel module does it: one server span per traced request, W3C
// traceparent/tracestate passed on to the backend (and to auth-url), spans
// batched and exported over OTLP/gRPC with the OpenTelemetry Go SDK.
//
// No global state: a Manager owns the current TracerProvider, which the
// data plane hands requests with each configuration (proxy.Snapshot). A
// configuration change that keeps the exporter settings keeps the
// provider; one that changes them starts a new provider and shuts the old
// one down in the background. Requests never wait on the collector: the
// queue is bounded and a full queue drops (and counts) spans.
package tracing

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Defaults of Options.
const (
	// DefaultExportTimeout is the otel module's OTLP/gRPC exporter
	// timeout (opentelemetry-cpp's default, 10 s).
	DefaultExportTimeout = 10 * time.Second
	// DefaultRetireTimeout bounds the flush of a replaced provider.
	DefaultRetireTimeout = 5 * time.Second
	// logEvery spaces export-failure logs: a down collector would
	// otherwise log every schedule delay.
	logEvery = time.Minute
)

// Options configures a Manager.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// ExportTimeout bounds one export; 0: DefaultExportTimeout.
	ExportTimeout time.Duration
	// RetireTimeout bounds the flush of a replaced provider; 0:
	// DefaultRetireTimeout.
	RetireTimeout time.Duration
}

// Manager owns the current provider.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu  sync.Mutex
	cur *Tracer
	// retiring counts replaced providers still flushing (Close waits).
	retiring sync.WaitGroup
}

// NewManager returns a Manager with no provider.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ExportTimeout <= 0 {
		opts.ExportTimeout = DefaultExportTimeout
	}
	if opts.RetireTimeout <= 0 {
		opts.RetireTimeout = DefaultRetireTimeout
	}
	return &Manager{opts: opts, log: opts.Logger}
}

// Apply returns the Tracer for cfg: nil when cfg is nil (nothing traced),
// the current one when its exporter settings are unchanged, else a new one
// (the old one is shut down in the background). It does not block on the
// network: the gRPC connection is made when the first batch is sent.
func (m *Manager) Apply(cfg *routecfg.Tracing) *Tracer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cfg == nil {
		m.retire(m.cur)
		m.cur = nil
		return nil
	}
	if m.cur != nil && m.cur.settings == cfg.Exporter {
		return m.cur
	}
	t := m.newTracer(cfg.Exporter)
	m.retire(m.cur)
	m.cur = t
	return t
}

func (m *Manager) retire(t *Tracer) {
	if t == nil {
		return
	}
	m.retiring.Add(1)
	go func() {
		defer m.retiring.Done()
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.RetireTimeout)
		defer cancel()
		if err := t.provider.Shutdown(ctx); err != nil {
			m.log.Warn("opentelemetry: shutting down the replaced exporter", "collector", t.settings.Endpoint, "error", err)
		}
	}()
}

// Close flushes and shuts down the current provider (within ctx) and
// waits for replaced ones: the data plane calls it when it stops serving.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	t := m.cur
	m.cur = nil
	m.mu.Unlock()
	var err error
	if t != nil {
		err = t.provider.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { m.retiring.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return err
}

// Tracer is one provider and its exporter settings.
type Tracer struct {
	settings routecfg.TracingExporter
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	proc     *batcher // nil without a collector
	stats    *stats
}

func (m *Manager) newTracer(e routecfg.TracingExporter) *Tracer {
	t := &Tracer{settings: e, stats: &stats{log: m.log, metrics: m.opts.Metrics, endpoint: e.Endpoint}}
	var sampler sdktrace.Sampler
	switch e.Sampler {
	case routecfg.SamplerAlwaysOff:
		sampler = sdktrace.NeverSample()
	case routecfg.SamplerTraceIDRatio:
		sampler = sdktrace.TraceIDRatioBased(e.Ratio)
	default:
		sampler = sdktrace.AlwaysSample()
	}
	if e.ParentBased {
		sampler = sdktrace.ParentBased(sampler)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sampler),
		// The otel module's resource: service.name and the SDK's own
		// attributes; not the host detectors of resource.Default.
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", e.ServiceName),
			attribute.String("telemetry.sdk.language", "go"),
			attribute.String("telemetry.sdk.name", "opentelemetry"),
		)),
	}
	if e.Endpoint != "" {
		exp, err := otlptracegrpc.New(context.Background(),
			otlptracegrpc.WithEndpoint(e.Endpoint),
			otlptracegrpc.WithInsecure(), // as ingress-nginx writes the module's exporter
			otlptracegrpc.WithTimeout(m.opts.ExportTimeout),
			// A failed batch is counted and dropped, not retried: retries
			// would hold the queue while new spans are dropped anyway.
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
		)
		if err != nil {
			// Not expected: the client connects lazily, and translate
			// validated host and port.
			m.log.Error("opentelemetry: cannot create the OTLP exporter; spans are not exported", "collector", e.Endpoint, "error", err)
		} else {
			t.proc = newBatcher(exp, e.MaxQueueSize, e.MaxExportBatchSize, e.ScheduleDelay, m.opts.ExportTimeout, t.stats)
			opts = append(opts, sdktrace.WithSpanProcessor(t.proc))
		}
	}
	t.provider = sdktrace.NewTracerProvider(opts...)
	t.tracer = t.provider.Tracer("moat")
	return t
}

// stats counts and logs the batcher's outcomes.
type stats struct {
	log      *slog.Logger
	metrics  *metrics.Metrics
	endpoint string
	// lastDrop and lastFail are the unix nanoseconds of the last warning
	// of each kind; drops and failures since are summed into the next.
	lastDrop, lastFail        atomic.Int64
	droppedSince, failedSince atomic.Int64
}

func (s *stats) dropped(n int) {
	s.droppedSince.Add(int64(n))
	s.metrics.TracingSpans("dropped", n)
	s.maybeLog(&s.lastDrop, "opentelemetry: the span export queue is full (otel-max-queuesize); spans are dropped, requests are served", nil)
}

func (s *stats) exported(n int) { s.metrics.TracingSpans("exported", n) }

func (s *stats) failed(n int, err error) {
	s.failedSince.Add(int64(n))
	s.metrics.TracingSpans("failed", n)
	s.maybeLog(&s.lastFail, "opentelemetry: span export failed; spans are dropped, requests are served", err)
}

// maybeLog warns at most once per logEvery for each kind (last), with
// the drops and failures since the last warning.
func (s *stats) maybeLog(last *atomic.Int64, msg string, err error) {
	now := time.Now().UnixNano()
	prev := last.Load()
	if prev != 0 && now-prev < int64(logEvery) || !last.CompareAndSwap(prev, now) {
		return
	}
	attrs := []any{"collector", s.endpoint, "failed_spans", s.failedSince.Swap(0), "dropped_spans", s.droppedSince.Swap(0)}
	if err != nil {
		attrs = append(attrs, "error", err)
	}
	s.log.Warn(msg, attrs...)
}

// Request-time step.

var w3c = propagation.TraceContext{}

// Start begins a request's server span named name: the child of the
// request's traceparent when trust is set and it is valid, else the root
// of a new trace.
func (t *Tracer) Start(r *http.Request, trust bool, name string) trace.Span {
	ctx := context.Background()
	if trust && r.Header["Traceparent"] != nil {
		ctx = w3c.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	return span
}

// Inject replaces h's traceparent and tracestate with span's, as the
// otel module's opentelemetry_propagate (proxy_set_header traceparent,
// tracestate): an incoming pair that was not trusted does not reach the
// backend.
func Inject(span trace.Span, h http.Header) {
	sc := span.SpanContext()
	delete(h, "Traceparent")
	delete(h, "Tracestate")
	if !sc.IsValid() {
		return
	}
	var b [55]byte
	copy(b[:3], "00-")
	tid, sid := sc.TraceID(), sc.SpanID()
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags() & trace.FlagsSampled)})
	h["Traceparent"] = []string{string(b[:])}
	if ts := sc.TraceState().String(); ts != "" {
		h["Tracestate"] = []string{ts}
	}
}

// Request is what the module records about a finished request.
type Request struct {
	Method, Flavor, Target string
	ServerName, Host       string
	UserAgent, Scheme      string
	HostPort               int
	PeerIP                 string
	PeerPort               int
	Status                 int
}

// End sets the request's attributes (those ingress-nginx's otel module
// sets), its status (an error from 500 up, as the module) and, when name
// is not "", its final name, and ends the span. An unsampled span skips
// the work.
func End(span trace.Span, name string, r *Request) {
	if span.IsRecording() {
		attrs := [...]attribute.KeyValue{
			attribute.String("http.method", r.Method),
			attribute.String("http.flavor", r.Flavor),
			attribute.String("http.target", r.Target),
			attribute.String("http.server_name", r.ServerName),
			attribute.String("http.host", r.Host),
			attribute.String("http.user_agent", r.UserAgent),
			attribute.String("http.scheme", r.Scheme),
			attribute.Int("net.host.port", r.HostPort),
			attribute.String("net.peer.ip", r.PeerIP),
			attribute.Int("net.peer.port", r.PeerPort),
			attribute.Int("http.status_code", r.Status),
		}
		n := len(attrs)
		if r.UserAgent == "" {
			// The module sets it only when the request has one.
			attrs[5], attrs[n-1] = attrs[n-1], attrs[5]
			n--
		}
		span.SetAttributes(attrs[:n]...)
		if r.Status >= 500 {
			span.SetStatus(codes.Error, "")
		} else {
			span.SetStatus(codes.Ok, "")
		}
		if name != "" {
			span.SetName(name)
		}
	}
	span.End()
}
