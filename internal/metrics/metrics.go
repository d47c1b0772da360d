// Package metrics holds moat's Prometheus collectors. A Metrics is built
// against a caller-owned Registerer (no global registry) and every method
// is safe on a nil *Metrics, so components can run without metrics.
package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// unmatchedHost is the host label for requests that matched no virtual host
// and for the catch-all, whose Host is "". Prometheus allows "" but "_"
// mirrors ingress-nginx's catch-all server name and reads better in queries.
const unmatchedHost = "_"

// Metrics is the set of moat's collectors.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	connectErrors  *prometheus.CounterVec
	applies        *prometheus.CounterVec
	lastApply      prometheus.Gauge
	certExpiry     *prometheus.GaugeVec
	clientRefused  *prometheus.CounterVec
	acceptErrors   *prometheus.CounterVec
	accessLogErrs  prometheus.Counter
	applySuccess   prometheus.Counter
	applyFailure   prometheus.Counter
	unmatched      *series
	byRoute, byVH  sync.Map // *routecfg.Route / *routecfg.VirtualHost → *series
	certExpiryLock sync.Mutex
}

// New creates the collectors and registers them with reg. It panics if
// registration fails (a duplicate registration is a programming error).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_requests_total",
			Help: "Requests served, by virtual host pattern, Ingress, Service and status code.",
		}, []string{"host", "ingress", "service", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "moat_request_duration_seconds",
			Help:    "Time from request start to the end of the response, by virtual host pattern, Ingress and Service.",
			Buckets: prometheus.DefBuckets,
		}, []string{"host", "ingress", "service"}),
		connectErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_upstream_connect_errors_total",
			Help: "Failed connection attempts to upstream endpoints, by Service.",
		}, []string{"service"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moat_config_applies_total",
			Help: "Configuration applies to the data plane, by result (success or failure).",
		}, []string{"result"}),
		lastApply: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "moat_config_last_apply_timestamp_seconds",
			Help: "Unix time of the last successful configuration apply.",
		}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "moat_certificate_expiry_timestamp_seconds",
			Help: "NotAfter of the certificate served for each virtual host, as Unix time.",
		}, []string{"secret", "host"}),
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
	reg.MustRegister(m.requests, m.duration, m.connectErrors, m.applies, m.lastApply, m.certExpiry, m.clientRefused, m.acceptErrors, m.accessLogErrs)
	for _, l := range []string{"http", "https"} {
		m.clientRefused.WithLabelValues(l)
		m.acceptErrors.WithLabelValues(l)
	}
	// Pre-create both results so a dashboard sees 0 rather than no series.
	m.applySuccess = m.applies.WithLabelValues("success")
	m.applyFailure = m.applies.WithLabelValues("failure")
	m.unmatched = m.newSeries(unmatchedHost, "", "")
	return m
}

// series caches the label-bound children for one route (or one virtual
// host without a route) so the hot path does no label hashing or string
// building. Children of a Vec are stable, so caching them is safe.
type series struct {
	m                      *Metrics
	host, ingress, service string
	duration               prometheus.Observer
	connectErrors          prometheus.Counter
	codes                  atomic.Pointer[map[int]prometheus.Counter] // copy on write
	codesMu                sync.Mutex
}

func (m *Metrics) newSeries(host, ingress, service string) *series {
	s := &series{
		m: m, host: host, ingress: ingress, service: service,
		duration: m.duration.WithLabelValues(host, ingress, service),
	}
	if service != "" {
		s.connectErrors = m.connectErrors.WithLabelValues(service)
	}
	empty := map[int]prometheus.Counter{}
	s.codes.Store(&empty)
	return s
}

func (s *series) counter(code int) prometheus.Counter {
	if c, ok := (*s.codes.Load())[code]; ok {
		return c
	}
	// Slow path, once per (route, code): copy the map so readers never lock.
	s.codesMu.Lock()
	defer s.codesMu.Unlock()
	old := *s.codes.Load()
	if c, ok := old[code]; ok {
		return c
	}
	c := s.m.requests.WithLabelValues(s.host, s.ingress, s.service, strconv.Itoa(code))
	next := make(map[int]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[code] = c
	s.codes.Store(&next)
	return c
}

// HostLabel is the host label for a virtual host: its configured pattern,
// never the raw Host header, so cardinality is bounded by the config.
func HostLabel(vh *routecfg.VirtualHost) string {
	if vh == nil || vh.Host == "" {
		return unmatchedHost
	}
	return vh.Host
}

// IngressLabel is "namespace/name" of the Ingress behind rt, or "".
func IngressLabel(rt *routecfg.Route) string {
	if rt == nil || rt.Source.Ingress == "" {
		return ""
	}
	return rt.Source.Namespace + "/" + rt.Source.Ingress
}

// ServiceLabel is "namespace/service" of rt's backend, or "".
func ServiceLabel(rt *routecfg.Route) string {
	if rt == nil || rt.Source.Service == "" {
		return ""
	}
	return rt.Source.Namespace + "/" + rt.Source.Service
}

func (m *Metrics) seriesFor(vh *routecfg.VirtualHost, rt *routecfg.Route) *series {
	switch {
	case rt != nil:
		if s, ok := m.byRoute.Load(rt); ok {
			return s.(*series)
		}
		s, _ := m.byRoute.LoadOrStore(rt, m.newSeries(HostLabel(vh), IngressLabel(rt), ServiceLabel(rt)))
		return s.(*series)
	case vh != nil:
		if s, ok := m.byVH.Load(vh); ok {
			return s.(*series)
		}
		s, _ := m.byVH.LoadOrStore(vh, m.newSeries(HostLabel(vh), "", ""))
		return s.(*series)
	}
	return m.unmatched
}

// ObserveRequest records one finished request. vh and rt are what the
// router matched (either may be nil).
func (m *Metrics) ObserveRequest(vh *routecfg.VirtualHost, rt *routecfg.Route, code int, d time.Duration) {
	if m == nil {
		return
	}
	s := m.seriesFor(vh, rt)
	s.duration.Observe(d.Seconds())
	s.counter(code).Inc()
}

// UpstreamConnectError counts a failed connection to an endpoint of rt's
// Service.
func (m *Metrics) UpstreamConnectError(vh *routecfg.VirtualHost, rt *routecfg.Route) {
	if m == nil || rt == nil {
		return
	}
	if s := m.seriesFor(vh, rt); s.connectErrors != nil {
		s.connectErrors.Inc()
	}
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
			m.byVH.Delete(k)
		}
		return true
	}
	m.byRoute.Range(prune)
	m.byVH.Range(prune)
}

// ConfigApplied counts one apply; on success it also records now as the
// last successful apply time.
func (m *Metrics) ConfigApplied(ok bool, now time.Time) {
	if m == nil {
		return
	}
	if !ok {
		m.applyFailure.Inc()
		return
	}
	m.applySuccess.Inc()
	m.lastApply.Set(float64(now.UnixNano()) / 1e9)
}

// SetCertificates replaces the certificate expiry series with one per
// virtual host (including the catch-all) that names a certificate present
// in cfg, or that has TLS and falls back to cfg's DefaultCertificate,
// valued at the leaf's NotAfter.
func (m *Metrics) SetCertificates(cfg *routecfg.Config) {
	if m == nil || cfg == nil {
		return
	}
	// Reset and refill must not interleave with another apply.
	m.certExpiryLock.Lock()
	defer m.certExpiryLock.Unlock()
	m.certExpiry.Reset()
	for _, vh := range cfg.VirtualHosts {
		m.setCertExpiry(cfg, vh)
	}
	m.setCertExpiry(cfg, cfg.CatchAll)
}

// SetCertificateHosts updates only the gauges of hosts that changed from
// prev to cfg (before[i] became after[i]; either may be nil), for an apply
// whose certificates, default certificate and catch-all did not change:
// at 10,000 hosts a full refill was a quarter of a TLS Ingress change's
// CPU. Host names must be unique in each config (the gauge's host label
// is the name).
func (m *Metrics) SetCertificateHosts(prev, cfg *routecfg.Config, before, after []*routecfg.VirtualHost) {
	if m == nil || cfg == nil {
		return
	}
	m.certExpiryLock.Lock()
	defer m.certExpiryLock.Unlock()
	for _, vh := range before {
		if c := servedCert(prev, vh); c != nil {
			m.certExpiry.DeleteLabelValues(c.Ref, HostLabel(vh))
		}
	}
	for _, vh := range after {
		m.setCertExpiry(cfg, vh)
	}
}

func (m *Metrics) setCertExpiry(cfg *routecfg.Config, vh *routecfg.VirtualHost) {
	if c := servedCert(cfg, vh); c != nil {
		m.certExpiry.WithLabelValues(c.Ref, HostLabel(vh)).Set(float64(c.Cert.Leaf.NotAfter.Unix()))
	}
}

// servedCert is the certificate vh is served with in cfg, nil if none or
// not parsed.
func servedCert(cfg *routecfg.Config, vh *routecfg.VirtualHost) *routecfg.Certificate {
	if vh == nil || cfg == nil {
		return nil
	}
	c := cfg.Certificates[vh.Certificate]
	if vh.Certificate == "" && vh.TLS {
		// A TLS host that fell back is served the
		// --default-ssl-certificate Secret, when there is one.
		c = cfg.DefaultCertificate
	}
	if c == nil || c.Cert == nil || c.Cert.Leaf == nil {
		return nil
	}
	return c
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
