package l4

import "github.com/prometheus/client_golang/prometheus"

// metrics are moat_l4_* series: ingress-nginx exports none for its
// stream services. Labels: protocol, port, service ("ns/name:port").
type metrics struct {
	active                             *prometheus.GaugeVec
	total, connectErrors, listenErrors *prometheus.CounterVec
	received, sent                     *prometheus.CounterVec
	proxyErrors, udpDropped            *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	l := []string{"protocol", "port", "service"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, l)
	}
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "moat_l4_active_connections",
			Help: "TCP connections and UDP sessions of the TCP and UDP services open now."}, l),
		total:         counter("moat_l4_connections_total", "TCP connections and UDP sessions accepted by the TCP and UDP services."),
		connectErrors: counter("moat_l4_upstream_connect_errors_total", "Failed connection attempts to the endpoints of TCP and UDP services (the next endpoint is tried)."),
		listenErrors:  counter("moat_l4_listen_errors_total", "Stream ports that could not be opened (port in use, no permission)."),
		received:      counter("moat_l4_received_bytes_total", "Bytes received from clients of the TCP and UDP services (nginx $bytes_received)."),
		sent:          counter("moat_l4_sent_bytes_total", "Bytes sent to clients of the TCP and UDP services (nginx $bytes_sent)."),
		proxyErrors:   counter("moat_l4_proxy_protocol_errors_total", "Client connections closed because their PROXY protocol header was missing or malformed."),
		udpDropped:    counter("moat_l4_udp_dropped_total", "Client datagrams dropped: no session could be opened (session limit, no endpoint)."),
	}
	if reg != nil {
		reg.MustRegister(m.active, m.total, m.connectErrors, m.listenErrors, m.received, m.sent, m.proxyErrors, m.udpDropped)
	}
	return m
}
