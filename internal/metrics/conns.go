package metrics

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// connCollector is ingress-nginx's nginx status collector
// (nginx_status.go, fed by stub_status) for moat's HTTP and HTTPS
// listeners: connections by state, accepted and handled connections, and
// requests.
type connCollector struct {
	connections, connectionsTotal, requestsTotal *prometheus.Desc

	accepted, active, reading, writing, waiting, requests atomic.Int64
	// state is each open connection's last http.ConnState, to move it
	// between the gauges.
	state sync.Map // net.Conn → http.ConnState
}

func newConnCollector(cl prometheus.Labels) *connCollector {
	name := func(n string) string { return prometheus.BuildFQName(namespace, "nginx_process", n) }
	return &connCollector{
		connectionsTotal: prometheus.NewDesc(name("connections_total"), "total number of connections with state {accepted, handled}", []string{"state"}, cl),
		requestsTotal:    prometheus.NewDesc(name("requests_total"), "total number of client requests", nil, cl),
		connections:      prometheus.NewDesc(name("connections"), "current number of client connections with state {active, reading, writing, waiting}", []string{"state"}, cl),
	}
}

func (c *connCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connectionsTotal
	ch <- c.requestsTotal
	ch <- c.connections
}

func (c *connCollector) Collect(ch chan<- prometheus.Metric) {
	acc := float64(c.accepted.Load())
	ch <- prometheus.MustNewConstMetric(c.connectionsTotal, prometheus.CounterValue, acc, "accepted")
	// nginx counts a connection handled unless worker_connections ran
	// out; moat handles every connection it accepts.
	ch <- prometheus.MustNewConstMetric(c.connectionsTotal, prometheus.CounterValue, acc, "handled")
	ch <- prometheus.MustNewConstMetric(c.requestsTotal, prometheus.CounterValue, float64(c.requests.Load()))
	for _, g := range []struct {
		state string
		v     *atomic.Int64
	}{{"active", &c.active}, {"reading", &c.reading}, {"writing", &c.writing}, {"waiting", &c.waiting}} {
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(g.v.Load()), g.state)
	}
}

// gauge is the per-state gauge a connection in s counts in: a new
// connection is reading its first request, an active one is being
// served (nginx's writing), an idle keep-alive one is waiting.
func (c *connCollector) gauge(s http.ConnState) *atomic.Int64 {
	switch s {
	case http.StateNew:
		return &c.reading
	case http.StateActive:
		return &c.writing
	case http.StateIdle:
		return &c.waiting
	}
	return nil
}

// ConnState is an http.Server's ConnState hook for the traffic
// listeners: it keeps nginx_process_connections{state} and
// nginx_process_connections_total.
func (m *Metrics) ConnState(conn net.Conn, s http.ConnState) {
	if m == nil {
		return
	}
	c := m.conns
	if s == http.StateNew {
		c.accepted.Add(1)
		c.active.Add(1)
	}
	var prev any
	var had bool
	if s == http.StateHijacked || s == http.StateClosed {
		prev, had = c.state.LoadAndDelete(conn)
	} else {
		prev, had = c.state.Swap(conn, s)
	}
	if had {
		if g := c.gauge(prev.(http.ConnState)); g != nil {
			g.Add(-1)
		}
	}
	if g := c.gauge(s); g != nil {
		g.Add(1)
	}
	if (s == http.StateHijacked || s == http.StateClosed) && had {
		c.active.Add(-1)
	}
}
