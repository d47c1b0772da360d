package dataplane

import (
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// BenchmarkStackTracing is BenchmarkStackHTTPS with OpenTelemetry off and
// on (every request sampled: AlwaysOn, ingress-nginx's default; spans
// exported over OTLP/gRPC to an in-process receiver that decodes and
// discards them), in one run so the two can be compared
// (docs/performance.md, "Cost of tracing"). exported/op is the share of
// spans that reached the receiver (the rest found the queue full).
func BenchmarkStackTracing(b *testing.B) {
	// No keep-alive-requests limit: the client does not reconnect.
	endless := func(c *routecfg.Config) {
		l := routecfg.DefaultClientLimits()
		l.KeepAliveRequests = 0
		c.Clients = &l
	}
	b.Run("off", func(b *testing.B) { runHTTP1(b, benchStack(b, nil, endless)) })
	// Spans made and propagated, no collector: the SDK's share.
	b.Run("on-no-export", func(b *testing.B) {
		runHTTP1(b, benchStack(b, nil, endless, func(c *routecfg.Config) {
			c.Tracing = &routecfg.Tracing{Enabled: true, TrustIncomingSpan: true, Exporter: routecfg.TracingExporter{
				ServiceName: "nginx", Sampler: routecfg.SamplerAlwaysOn, ParentBased: true}}
		}))
	})
	b.Run("on", func(b *testing.B) {
		rcv := testutil.StartOTLPReceiver(b, true)
		addr := benchStack(b, nil, endless, func(c *routecfg.Config) {
			c.Tracing = &routecfg.Tracing{Enabled: true, TrustIncomingSpan: true, Exporter: routecfg.TracingExporter{
				Endpoint: rcv.Addr, ServiceName: "nginx", Sampler: routecfg.SamplerAlwaysOn, ParentBased: true,
				MaxQueueSize: 2048, MaxExportBatchSize: 512, ScheduleDelay: 100 * time.Millisecond,
			}}
		})
		runHTTP1(b, addr)
		// Whatever was not dropped reaches the receiver within a few
		// schedule delays; count what has so far.
		deadline := time.Now().Add(2 * time.Second)
		for rcv.Count() < b.N/2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportMetric(float64(rcv.Count())/float64(b.N), "exported/op")
	})
}
