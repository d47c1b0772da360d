// Package metrics holds moat's Prometheus collectors. A Metrics is built
// against a caller-owned Registerer (no global registry) and every method
// is safe on a nil *Metrics, so components can run without metrics.
//
// The families are ingress-nginx's (internal/ingress/metric/collectors in
// kubernetes/ingress-nginx): the same names, label sets, histogram
// buckets and constant labels, so its Grafana dashboards, the alert
// rules written for it and Flagger's nginx queries work unchanged
// (docs/monitoring.md). moat_ series remain only for what those do not
// say (failed upstream connections).
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// namespace prefixes every ingress-nginx family.
const namespace = "nginx_ingress_controller"

// unmatchedHost is the host label for requests that matched no virtual
// host and for the catch-all: ingress-nginx's catch-all server name.
const unmatchedHost = "_"

// Options are the constant labels ingress-nginx puts on its controller
// and request families.
type Options struct {
	// Namespace is controller_namespace ($POD_NAMESPACE in a cluster).
	Namespace string
	// Class is controller_class: the IngressClass controller value
	// (--controller-class).
	Class string
	// Pod is controller_pod ($POD_NAME, else the host name).
	Pod string
	// ProcessCollector registers moat's own process figures under
	// ingress-nginx's nginx_process_* names (cpu, memory), which its
	// dashboard graphs; off in tests that run several Metrics in one
	// process.
	ProcessCollector bool
}

// Metrics is the set of moat's collectors.
type Metrics struct {
	opts        Options
	constLabels prometheus.Labels

	req           requestVecs
	connectErrors *prometheus.CounterVec
	conns         *connCollector

	configHash, configOK, configOKTime prometheus.Gauge
	reloads, reloadErrors              prometheus.Counter
	leader                             *prometheus.GaugeVec
	certExpiry                         *prometheus.GaugeVec
	certExpiryLock                     sync.Mutex
	applies                            uint64 // guarded by applyMu
	applyMu                            sync.Mutex

	unmatched *series
	byRoute   sync.Map // *routecfg.Route → *series
	byCanary  sync.Map // *routecfg.Route → *series of its canary
	byVH      sync.Map // *routecfg.VirtualHost → *series

	clientRefused, acceptErrors *prometheus.CounterVec
	accessLogErrs               prometheus.Counter
	ppErrors                    *prometheus.CounterVec // proxyprotocol.go
	tracingSpans                *prometheus.CounterVec // tracing.go
	mirrorCopies                *prometheus.CounterVec // mirror.go
}

// New creates the collectors with empty constant labels and registers
// them with reg. It panics if registration fails (a duplicate
// registration is a programming error).
func New(reg prometheus.Registerer) *Metrics { return NewWith(reg, Options{}) }

// NewWith is New with the controller's constant labels.
func NewWith(reg prometheus.Registerer, opts Options) *Metrics {
	cl := prometheus.Labels{"controller_namespace": opts.Namespace, "controller_class": opts.Class, "controller_pod": opts.Pod}
	m := &Metrics{opts: opts, constLabels: cl}
	m.req = newRequestVecs(cl)
	m.connectErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_upstream_connect_errors_total",
		Help: "Failed connection attempts to upstream endpoints, by Service (namespace/name); ingress-nginx has no such series.",
	}, []string{"service"})
	m.conns = newConnCollector(cl)
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: cl})
	}
	m.configHash = gauge("config_hash", "Running configuration hash actually running (moat: changes with every applied configuration).")
	m.configOK = gauge("config_last_reload_successful", "Whether the last configuration reload attempt was successful")
	m.configOKTime = gauge("config_last_reload_successful_timestamp_seconds", "Timestamp of the last successful configuration reload.")
	// success and errors carry the controller labels as variable labels,
	// as in ingress-nginx.
	opLabels := []string{"controller_namespace", "controller_class", "controller_pod"}
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "success",
		Help: "Cumulative number of Ingress controller reload operations"}, opLabels)
	reloadErrors := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "errors",
		Help: "Cumulative number of Ingress controller errors during reload operations"}, opLabels)
	m.reloads, m.reloadErrors = reloads.With(cl), reloadErrors.With(cl)
	m.leader = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "leader_election_status",
		Help:        "Gauge reporting status of the leader election, 0 indicates follower, 1 indicates leader. 'name' is the string used to identify the lease",
		ConstLabels: cl}, []string{"name"})
	m.certExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "ssl_expire_time_seconds",
		Help: "Number of seconds since 1970 to the SSL Certificate expire."}, []string{"namespace", "class", "host", "secret_name", "identifier"})
	reg.MustRegister(m.connectErrors, m.conns, m.configHash, m.configOK, m.configOKTime, reloads, reloadErrors, m.leader, m.certExpiry)
	m.req.register(reg)
	if opts.ProcessCollector {
		// ingress-nginx reports its nginx processes; moat's data plane
		// is its own process.
		prometheus.WrapRegistererWith(cl, reg).MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: namespace + "_nginx"}))
	}
	m.clientRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_client_connections_refused_total",
		Help: "Client connections refused because max-worker-connections were open (503 on HTTP, closed on HTTPS), by listener.",
	}, []string{"listener"})
	m.acceptErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moat_client_accept_errors_total",
		Help: "Failed accepts of client connections (such as EMFILE at the open-file limit), by listener.",
	}, []string{"listener"})
	m.accessLogErrs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "moat_access_log_write_errors_total",
		Help: "Access-log writes that failed (the lines are lost; serving goes on).",
	})
	reg.MustRegister(m.clientRefused, m.acceptErrors, m.accessLogErrs)
	m.registerTracing(reg)
	for _, l := range []string{"http", "https"} {
		m.clientRefused.WithLabelValues(l)
		m.acceptErrors.WithLabelValues(l)
	}
	m.registerProxyProtocol(reg)
	m.registerMirror(reg)
	m.unmatched = m.newSeries(unmatchedHost, nil, nil)
	return m
}

// HostLabel is the host label for a virtual host: its configured pattern,
// never the raw Host header, so cardinality is bounded by the config.
func HostLabel(vh *routecfg.VirtualHost) string {
	if vh == nil || vh.Host == "" {
		return unmatchedHost
	}
	return vh.Host
}

// ServiceLabel is "namespace/service" of rt's backend, or "".
func ServiceLabel(rt *routecfg.Route) string {
	if rt == nil || rt.Source.Service == "" {
		return ""
	}
	return rt.Source.Namespace + "/" + rt.Source.Service
}

// UpstreamName is ingress-nginx's upstream name for a Service port,
// "namespace-service-port" ($proxy_upstream_name).
func UpstreamName(src *routecfg.Source) string {
	if src == nil || src.Service == "" {
		return ""
	}
	return src.Namespace + "-" + src.Service + "-" + src.Port
}

// UpstreamConnectError counts a failed connection to an endpoint of the
// Service that served rt's request: canary is the route's canary when
// the request went there.
func (m *Metrics) UpstreamConnectError(rt *routecfg.Route, canary *routecfg.Canary) {
	if m == nil || rt == nil {
		return
	}
	src := &rt.Source
	if canary != nil {
		src = &canary.Source
	}
	if src.Service == "" {
		return
	}
	m.connectErrors.WithLabelValues(src.Namespace + "/" + src.Service).Inc()
}

// Prune drops cached series for routes and virtual hosts that are not in
// cfg, so a long run of config swaps does not keep old Route values alive.
// The Prometheus series themselves stay: counters must not go backwards
// while the same labels may come back in a later config.
func (m *Metrics) Prune(cfg *routecfg.Config) {
	if m == nil || cfg == nil {
		return
	}
	live := make(map[any]struct{})
	add := func(vh *routecfg.VirtualHost) {
		if vh == nil {
			return
		}
		live[vh] = struct{}{}
		for _, rt := range vh.Routes {
			live[rt] = struct{}{}
		}
	}
	for _, vh := range cfg.VirtualHosts {
		add(vh)
	}
	add(cfg.CatchAll)
	prune := func(k, _ any) bool {
		if _, ok := live[k]; !ok {
			m.byRoute.Delete(k)
			m.byCanary.Delete(k)
			m.byVH.Delete(k)
		}
		return true
	}
	m.byRoute.Range(prune)
	m.byCanary.Range(prune)
	m.byVH.Range(prune)
}

// SetLeader records whether this replica holds the Lease name
// (leader_election_status).
func (m *Metrics) SetLeader(name string, leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.WithLabelValues(name).Set(v)
}

// ClientConnRefused counts a client connection refused at the connection
// limit on listener ("http" or "https").
func (m *Metrics) ClientConnRefused(listener string) {
	if m != nil {
		m.clientRefused.WithLabelValues(listener).Inc()
	}
}

// ClientAcceptError counts a failed accept on listener.
func (m *Metrics) ClientAcceptError(listener string) {
	if m != nil {
		m.acceptErrors.WithLabelValues(listener).Inc()
	}
}

// AccessLogError counts a failed access-log write.
func (m *Metrics) AccessLogError() {
	if m != nil {
		m.accessLogErrs.Inc()
	}
}
