package metrics

import "github.com/prometheus/client_golang/prometheus"

func (m *Metrics) registerProxyProtocol(reg prometheus.Registerer) {
	m.ppErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_proxy_protocol_errors_total",
		Help: "Client connections closed because use-proxy-protocol is on and their PROXY header was missing, malformed or not complete in time, by listener and reason.",
	}, []string{"listener", "reason"})
	reg.MustRegister(m.ppErrors)
	for _, l := range []string{"http", "https"} {
		for _, r := range []string{"missing", "malformed", "timeout"} {
			m.ppErrors.WithLabelValues(l, r)
		}
	}
}

// ProxyProtocolError counts a connection closed for its PROXY header.
func (m *Metrics) ProxyProtocolError(listener, reason string) {
	if m != nil {
		m.ppErrors.WithLabelValues(listener, reason).Inc()
	}
}
