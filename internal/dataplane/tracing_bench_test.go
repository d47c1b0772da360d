//go:build unix

package dataplane

import (
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// BenchmarkStackTracing is BenchmarkStackHTTPS with OpenTelemetry off and
// on (every request sampled: AlwaysOn, ingress-nginx's default; spans
// exported over OTLP/gRPC to an in-process receiver that discards them
// undecoded), in one run so the two can be compared
// (docs/performance.md, "Cost of tracing"). OTLP-B/op is what reached
// the receiver per request (which counts bytes, decoding nothing);
// cpu-µs/op is the process's CPU time per request (client, moat and, for
// "on", the receiver), steadier than ns/op on a shared machine.
func BenchmarkStackTracing(b *testing.B) {
	// No keep-alive-requests limit: the client does not reconnect.
	endless := func(c *routecfg.Config) {
		l := routecfg.DefaultClientLimits()
		l.KeepAliveRequests = 0
		c.Clients = &l
	}
	b.Run("off", func(b *testing.B) { runCPU(b, benchStack(b, nil, endless)) })
	// Spans made and propagated, no collector: the SDK's share.
	b.Run("on-no-export", func(b *testing.B) {
		runCPU(b, benchStack(b, nil, endless, func(c *routecfg.Config) {
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
		runCPU(b, addr)
		b.ReportMetric(float64(rcv.Bytes())/float64(b.N), "OTLP-B/op")
	})
}

// runCPU is runHTTP1, also reporting the process's CPU time per request.
func runCPU(b *testing.B, addr string) {
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	runHTTP1(b, addr)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(syscall.TimevalToNsec(after.Utime) + syscall.TimevalToNsec(after.Stime) -
		syscall.TimevalToNsec(before.Utime) - syscall.TimevalToNsec(before.Stime))
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}
