package metrics

import "github.com/prometheus/client_golang/prometheus"

// mirrorResults are the outcomes of a RequestMirror copy
// (internal/dataplane/mirror).
var mirrorResults = []string{"sent", "failed", "dropped", "skipped"}

func (m *Metrics) registerMirror(reg prometheus.Registerer) {
	m.mirrorCopies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_mirror_requests_total",
		Help: "Request copies for Gateway API RequestMirror filters, by result: sent (the mirror answered), failed (no endpoint, connection error or timeout), dropped (too many copies in flight) and skipped (a request body that was not buffered).",
	}, []string{"result"})
	reg.MustRegister(m.mirrorCopies)
	for _, r := range mirrorResults {
		m.mirrorCopies.WithLabelValues(r)
	}
}

// MirrorCopy counts one request copy by result.
func (m *Metrics) MirrorCopy(result string) {
	if m != nil {
		m.mirrorCopies.WithLabelValues(result).Inc()
	}
}
