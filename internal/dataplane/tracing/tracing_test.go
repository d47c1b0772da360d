package tracing

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// stuckExporter blocks its first export until release is closed.
type stuckExporter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	got     int
}

func (e *stuckExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.once.Do(func() {
		close(e.entered)
		<-e.release
	})
	e.mu.Lock()
	e.got += len(spans)
	e.mu.Unlock()
	return nil
}

func (e *stuckExporter) Shutdown(context.Context) error { return nil }

// counts is a reporter that keeps the numbers.
type counts struct {
	mu                           sync.Mutex
	nDropped, nExported, nFailed int
	err                          error
}

func (c *counts) dropped(n int)  { c.mu.Lock(); c.nDropped += n; c.mu.Unlock() }
func (c *counts) exported(n int) { c.mu.Lock(); c.nExported += n; c.mu.Unlock() }
func (c *counts) failed(n int, err error) {
	c.mu.Lock()
	c.nFailed += n
	c.err = err
	c.mu.Unlock()
}

func (c *counts) get() (dropped, exported, failed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nDropped, c.nExported, c.nFailed
}

// A collector that does not answer never holds a span's End: the queue
// fills, and every span beyond it is dropped and counted.
func TestBatcherDropsWhenFull(t *testing.T) {
	exp := &stuckExporter{entered: make(chan struct{}), release: make(chan struct{})}
	c := &counts{}
	b := newBatcher(exp, 2, 1, time.Hour, time.Minute, c)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	tr := tp.Tracer("test")
	_, s := tr.Start(context.Background(), "first")
	s.End()
	<-exp.entered // the first batch is being exported, and stays so
	for range 10 {
		_, s := tr.Start(context.Background(), "more")
		s.End()
	}
	if got, _, _ := c.get(); got != 8 {
		t.Errorf("dropped %d spans, want 8 (10 ended, 2 queued)", got)
	}
	close(exp.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := c.get(); exp.got != 3 || n != 3 {
		t.Errorf("exported %d (counted %d), want the first and the 2 queued", exp.got, n)
	}
}

type failingExporter struct{}

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("collector says no")
}
func (failingExporter) Shutdown(context.Context) error { return nil }

func TestBatcherCountsFailures(t *testing.T) {
	c := &counts{}
	b := newBatcher(failingExporter{}, 10, 4, time.Hour, time.Minute, c)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	for range 6 {
		_, s := tp.Tracer("t").Start(context.Background(), "x")
		s.End()
	}
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, exported, failed := c.get(); failed != 6 || exported != 0 || c.err == nil {
		t.Errorf("failed %d exported %d err %v; want 6 failed", failed, exported, c.err)
	}
}

// Unsampled spans are not queued.
func TestBatcherSkipsUnsampled(t *testing.T) {
	c := &counts{}
	exp := &stuckExporter{entered: make(chan struct{}), release: make(chan struct{})}
	close(exp.release)
	b := newBatcher(exp, 10, 10, time.Hour, time.Minute, c)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b), sdktrace.WithSampler(sdktrace.NeverSample()))
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := c.get(); exp.got != 0 || n != 0 {
		t.Errorf("unsampled span exported: %d", exp.got)
	}
}

// The manager keeps its provider while the exporter settings stay, and
// replaces it when they change.
func TestManagerApply(t *testing.T) {
	m := NewManager(Options{})
	defer func() { _ = m.Close(context.Background()) }()
	if m.Apply(nil) != nil {
		t.Fatal("no tracing: want no tracer")
	}
	cfg := &routecfg.Tracing{Enabled: true, Exporter: routecfg.TracingExporter{ServiceName: "a", MaxQueueSize: 8, MaxExportBatchSize: 4, ScheduleDelay: time.Second}}
	a := m.Apply(cfg)
	same := *cfg
	same.TrustIncomingSpan = true // not an exporter setting
	if b := m.Apply(&same); b != a {
		t.Error("unchanged exporter settings: want the same tracer")
	}
	other := *cfg
	other.Exporter.Sampler = routecfg.SamplerAlwaysOff
	if b := m.Apply(&other); b == a || b == nil {
		t.Error("changed sampler: want a new tracer")
	}
	if m.Apply(nil) != nil {
		t.Error("tracing off: want no tracer")
	}
}

func TestStartInject(t *testing.T) {
	m := NewManager(Options{})
	defer func() { _ = m.Close(context.Background()) }()
	tr := m.Apply(&routecfg.Tracing{Exporter: routecfg.TracingExporter{ParentBased: true, MaxQueueSize: 1, MaxExportBatchSize: 1, ScheduleDelay: time.Second}})
	in := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}, "Tracestate": {"a=b"}}
	r := &http.Request{Header: in}

	// Trusted: same trace, parent's flags (parent-based: not sampled).
	s := tr.Start(r, true, "/")
	out := http.Header{"Traceparent": in["Traceparent"], "Tracestate": in["Tracestate"]}
	Inject(s, out)
	sc := s.SpanContext()
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + sc.SpanID().String() + "-00"
	if out.Get("Traceparent") != want || out.Get("Tracestate") != "a=b" || s.IsRecording() {
		t.Errorf("trusted: %v (recording %t), want %s", out, s.IsRecording(), want)
	}
	End(s, "", nil)

	// Not trusted: a new sampled root; the tracestate is dropped.
	s = tr.Start(r, false, "/")
	out = http.Header{"Traceparent": in["Traceparent"], "Tracestate": in["Tracestate"]}
	Inject(s, out)
	sc = s.SpanContext()
	if sc.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" || out.Get("Traceparent") != "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01" || out["Tracestate"] != nil {
		t.Errorf("untrusted: %v", out)
	}
	if sc.TraceFlags()&trace.FlagsSampled == 0 || !s.IsRecording() {
		t.Error("untrusted root under AlwaysOn must be sampled")
	}
	End(s, "named", &Request{Method: "GET", Status: 503})

	// A malformed incoming traceparent starts a new trace too.
	s = tr.Start(&http.Request{Header: http.Header{"Traceparent": {"00-zz-zz-01"}}}, true, "/")
	if !s.SpanContext().IsValid() || s.SpanContext().TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("malformed parent: %v", s.SpanContext())
	}
	End(s, "", &Request{})
}
