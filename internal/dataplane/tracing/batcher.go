package tracing

import (
	"context"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// batcher is the span processor: the SDK's BatchSpanProcessor does the
// same (a bounded queue, export by size or delay) but hides the spans it
// drops, and a full queue must show in moat's metrics. OnEnd never blocks:
// a span that finds the queue full is dropped and counted, so a slow or
// absent collector costs requests nothing.
type batcher struct {
	exp      sdktrace.SpanExporter
	queue    chan sdktrace.ReadOnlySpan
	maxBatch int
	delay    time.Duration
	timeout  time.Duration
	report   reporter

	flush    chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// reporter receives the outcome of every sampled span.
type reporter interface {
	dropped(n int)
	exported(n int)
	failed(n int, err error)
}

func newBatcher(exp sdktrace.SpanExporter, queue, maxBatch int, delay, timeout time.Duration, r reporter) *batcher {
	b := &batcher{
		exp: exp, queue: make(chan sdktrace.ReadOnlySpan, queue), maxBatch: max(1, min(maxBatch, queue)),
		delay: delay, timeout: timeout, report: r,
		flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.run()
	return b
}

func (b *batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case b.queue <- s:
	default:
		b.report.dropped(1)
	}
}

func (b *batcher) run() {
	defer close(b.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, b.maxBatch)
	timer := time.NewTimer(b.delay)
	defer timer.Stop()
	export := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, b.timeout)
		err := b.exp.ExportSpans(ctx, batch)
		cancel()
		if err != nil {
			b.report.failed(len(batch), err)
		} else {
			b.report.exported(len(batch))
		}
		clear(batch) // let the spans go
		batch = batch[:0]
	}
	// drain exports what is queued now, in batches.
	drain := func(ctx context.Context) {
		for {
			select {
			case s := <-b.queue:
				batch = append(batch, s)
				if len(batch) >= b.maxBatch {
					export(ctx)
				}
			default:
				export(ctx)
				return
			}
		}
	}
	for {
		select {
		case s := <-b.queue:
			batch = append(batch, s)
			if len(batch) >= b.maxBatch {
				export(context.Background())
				timer.Reset(b.delay)
			}
		case <-timer.C:
			export(context.Background())
			timer.Reset(b.delay)
		case ack := <-b.flush:
			drain(context.Background())
			close(ack)
		case <-b.stop:
			drain(context.Background())
			return
		}
	}
}

// ForceFlush exports what is queued; tests use it instead of waiting for
// the schedule delay.
func (b *batcher) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case b.flush <- ack:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued, within ctx, and closes the exporter.
func (b *batcher) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() { close(b.stop) })
	select {
	case <-b.done:
	case <-ctx.Done():
		// The last export goes on in the background, bounded by its
		// timeout; the exporter is closed under it.
	}
	return b.exp.Shutdown(ctx)
}
