package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// requestLabels are ingress-nginx's requestTags plus host
// (--metrics-per-host, on by default), in its order.
var requestLabels = []string{"status", "method", "path", "namespace", "ingress", "service", "canary", "host"}

// ingress-nginx's default --time-buckets, --length-buckets and
// --size-buckets.
var (
	timeBuckets   = prometheus.DefBuckets
	lengthBuckets = prometheus.LinearBuckets(10, 10, 10)
	sizeBuckets   = prometheus.ExponentialBuckets(10, 10, 7)
)

// requestVecs are the per-request families of ingress-nginx's
// SocketCollector.
type requestVecs struct {
	requests                                       *prometheus.CounterVec
	requestTime, connectTime, headerTime, respTime *prometheus.HistogramVec
	requestSize, responseSize, bytesSent           *prometheus.HistogramVec
	// latency is ingress_upstream_latency_seconds, the connect time by
	// Ingress: deprecated and removed in ingress-nginx v1.12, kept for
	// dashboards and alerts written for earlier releases.
	latency *prometheus.SummaryVec
}

func newRequestVecs(cl prometheus.Labels) requestVecs {
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help,
			ConstLabels: cl, Buckets: buckets}, requestLabels)
	}
	return requestVecs{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "requests",
			Help: "The total number of client requests", ConstLabels: cl}, requestLabels),
		requestTime:  hist("request_duration_seconds", "The request processing time in seconds", timeBuckets),
		connectTime:  hist("connect_duration_seconds", "The time spent on establishing a connection with the upstream server", timeBuckets),
		headerTime:   hist("header_duration_seconds", "The time spent on receiving first header from the upstream server", timeBuckets),
		respTime:     hist("response_duration_seconds", "The time spent on receiving the response from the upstream server", timeBuckets),
		requestSize:  hist("request_size", "The request length (including request line, header, and request body)", lengthBuckets),
		responseSize: hist("response_size", "The response length (including request line, header, and request body)", lengthBuckets),
		bytesSent:    hist("bytes_sent", "DEPRECATED The number of bytes sent to a client", sizeBuckets),
		latency: prometheus.NewSummaryVec(prometheus.SummaryOpts{Namespace: namespace, Name: "ingress_upstream_latency_seconds",
			Help: "DEPRECATED Upstream service latency per Ingress", ConstLabels: cl,
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}},
			[]string{"ingress", "namespace", "service", "canary"}),
	}
}

func (v *requestVecs) register(reg prometheus.Registerer) {
	reg.MustRegister(v.requests, v.requestTime, v.connectTime, v.headerTime, v.respTime,
		v.requestSize, v.responseSize, v.bytesSent, v.latency)
}

// Request is one finished request as the data plane saw it.
type Request struct {
	// VH and RT are what the router matched (either may be nil); Canary
	// is RT's canary when it served the request.
	VH     *routecfg.VirtualHost
	RT     *routecfg.Route
	Canary *routecfg.Canary
	Method string
	Status int
	// Duration is $request_time; RequestSize $request_length and
	// ResponseSize $bytes_sent.
	Duration                  time.Duration
	RequestSize, ResponseSize int64
	// Upstream: an upstream was reached, and Connect (0 on a reused
	// connection), Header (to the response header) and Response (to the
	// end of the response) are its timings.
	Upstream                  bool
	Connect, Header, Response time.Duration
}

// ObserveRequest records one finished request in ingress-nginx's request
// families. Label values come from the configuration (the Ingress rule's
// path, the virtual host's pattern), so random paths and Hosts add no
// series.
func (m *Metrics) ObserveRequest(r *Request) {
	if m == nil {
		return
	}
	m.conns.requests.Add(1)
	s := m.seriesFor(r.VH, r.RT, r.Canary)
	k := s.kids(r.Status, r.Method, r.Upstream)
	k.requests.Inc()
	k.requestTime.Observe(r.Duration.Seconds())
	k.requestSize.Observe(float64(r.RequestSize))
	k.responseSize.Observe(float64(r.ResponseSize))
	k.bytesSent.Observe(float64(r.ResponseSize))
	if r.Upstream {
		k.connectTime.Observe(r.Connect.Seconds())
		k.headerTime.Observe(r.Header.Seconds())
		k.respTime.Observe(r.Response.Seconds())
		if s.latency != nil {
			s.latency.Observe(r.Connect.Seconds())
		}
	}
}

// series caches, for one route (its canary apart) or one virtual host
// without a route, the label values and the label-bound children per
// status and method, so the hot path does no label hashing or string
// building. Children of a Vec are stable, so caching them is safe.
type series struct {
	m *Metrics
	// path, namespace, ingress, service, canary, host
	labels  [6]string
	canary  *routecfg.Canary
	latency prometheus.Observer                  // nil without an Ingress
	byKey   atomic.Pointer[map[uint32]*children] // copy on write
	mu      sync.Mutex
}

type children struct {
	requests                                       prometheus.Counter
	requestTime, connectTime, headerTime, respTime prometheus.Observer
	requestSize, responseSize, bytesSent           prometheus.Observer
}

func (m *Metrics) newSeries(host string, rt *routecfg.Route, canary *routecfg.Canary) *series {
	s := &series{m: m, canary: canary}
	s.labels[5] = host
	if rt != nil {
		src := &rt.Source
		s.labels[0], s.labels[1], s.labels[2], s.labels[3] = rt.Path, src.Namespace, src.Ingress, src.Service
		if canary != nil {
			// The canary's Service served it; the Ingress stays the
			// main one (Flagger queries ingress="<main>",canary!="").
			s.labels[3], s.labels[4] = canary.Source.Service, UpstreamName(&canary.Source)
		}
		if src.Ingress != "" {
			s.latency = m.req.latency.WithLabelValues(s.labels[2], s.labels[1], s.labels[3], s.labels[4])
		}
	}
	empty := map[uint32]*children{}
	s.byKey.Store(&empty)
	return s
}

func (s *series) kids(status int, method string, upstream bool) *children {
	mi := methodIndex(method)
	key := uint32(status)<<6 | uint32(mi)
	if upstream {
		// Upstream timings get series only where an upstream answered.
		key |= 1 << 5
	}
	if c, ok := (*s.byKey.Load())[key]; ok {
		return c
	}
	// Slow path, once per (series, status, method): copy the map so
	// readers never lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.byKey.Load()
	if c, ok := old[key]; ok {
		return c
	}
	lv := append([]string{strconv.Itoa(status), methods[mi]}, s.labels[:]...)
	v := &s.m.req
	c := &children{
		requests:     v.requests.WithLabelValues(lv...),
		requestTime:  v.requestTime.WithLabelValues(lv...),
		requestSize:  v.requestSize.WithLabelValues(lv...),
		responseSize: v.responseSize.WithLabelValues(lv...),
		bytesSent:    v.bytesSent.WithLabelValues(lv...),
	}
	if upstream {
		c.connectTime = v.connectTime.WithLabelValues(lv...)
		c.headerTime = v.headerTime.WithLabelValues(lv...)
		c.respTime = v.respTime.WithLabelValues(lv...)
	}
	next := make(map[uint32]*children, len(old)+1)
	for k, x := range old {
		next[k] = x
	}
	next[key] = c
	s.byKey.Store(&next)
	return c
}

// methods are the method label's values: the methods of RFC 9110, PATCH
// and WebDAV's; any other method is "OTHER", so a client cannot add
// series (ingress-nginx labels any method).
var methods = [...]string{"OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 1
	case "HEAD":
		return 2
	case "POST":
		return 3
	}
	for i := 4; i < len(methods); i++ {
		if methods[i] == m {
			return i
		}
	}
	return 0
}

func (m *Metrics) seriesFor(vh *routecfg.VirtualHost, rt *routecfg.Route, canary *routecfg.Canary) *series {
	switch {
	case rt != nil && canary != nil:
		if s, ok := m.byCanary.Load(rt); ok {
			if s := s.(*series); s.canary == canary {
				return s
			}
		}
		s := m.newSeries(HostLabel(vh), rt, canary)
		m.byCanary.Store(rt, s)
		return s
	case rt != nil:
		if s, ok := m.byRoute.Load(rt); ok {
			return s.(*series)
		}
		s, _ := m.byRoute.LoadOrStore(rt, m.newSeries(HostLabel(vh), rt, nil))
		return s.(*series)
	case vh != nil:
		if s, ok := m.byVH.Load(vh); ok {
			return s.(*series)
		}
		s, _ := m.byVH.LoadOrStore(vh, m.newSeries(HostLabel(vh), nil, nil))
		return s.(*series)
	}
	return m.unmatched
}
