package metrics

import "github.com/prometheus/client_golang/prometheus"

// Span outcomes of moat_tracing_spans_total.
var tracingOutcomes = []string{"exported", "dropped", "failed"}

func (m *Metrics) registerTracing(reg prometheus.Registerer) {
	m.tracingSpans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_tracing_spans_total",
		Help: "Sampled OpenTelemetry spans by outcome: exported to the collector, dropped (the export queue, otel-max-queuesize, was full) or failed (their batch's export failed); ingress-nginx has no such series.",
	}, []string{"outcome"})
	reg.MustRegister(m.tracingSpans)
	for _, o := range tracingOutcomes {
		m.tracingSpans.WithLabelValues(o)
	}
}

// TracingSpans counts n spans with outcome exported, dropped or failed.
func (m *Metrics) TracingSpans(outcome string, n int) {
	if m != nil && n > 0 {
		m.tracingSpans.WithLabelValues(outcome).Add(float64(n))
	}
}
