package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/testutil"
)

const (
	inTraceID  = "4bf92f3577b34da6a3ce929d0e0e4736"
	inParentID = "00f067aa0ba902b7"
	inTrace    = "00-" + inTraceID + "-" + inParentID + "-01"
)

// traceparent splits a W3C traceparent into trace id, span id and flags.
func traceparent(t *testing.T, v string) (trace, span, flags string) {
	t.Helper()
	p := strings.Split(v, "-")
	if len(p) != 4 || p[0] != "00" || len(p[1]) != 32 || len(p[2]) != 16 || len(p[3]) != 2 {
		t.Fatalf("traceparent %q is not W3C version 00", v)
	}
	return p[1], p[2], p[3]
}

// spanFor waits for the span whose id the backend saw as its parent.
func spanFor(t *testing.T, rcv *testutil.OTLPReceiver, spanID string) testutil.Span {
	t.Helper()
	var found testutil.Span
	testutil.Eventually(t, 10*time.Second, "span "+spanID+" at the collector", func() error {
		for _, s := range rcv.Spans() {
			if s.SpanID == spanID {
				found = s
				return nil
			}
		}
		return fmt.Errorf("%d spans, not %s", len(rcv.Spans()), spanID)
	})
	return found
}

// TestTracing: the ConfigMap's OpenTelemetry keys and the annotations, end
// to end: moat's server span reaches an OTLP/gRPC collector with the right
// parent and attributes, the backend gets a traceparent whose parent is
// moat's span, an untrusted incoming span starts a new trace, an Ingress
// can opt out, and a ConfigMap change (sampler ratio 0) applies live.
func TestTracing(t *testing.T) {
	rcv := testutil.StartOTLPReceiver(t, false)
	host, port, _ := strings.Cut(rcv.Addr, ":")
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	// An auth-url service that reports the traceparent it got.
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Traceparent", r.Header.Get("Traceparent"))
	}))
	t.Cleanup(auth.Close)
	cm := map[string]string{
		"enable-opentelemetry":       "true",
		"otlp-collector-host":        host,
		"otlp-collector-port":        port,
		"otel-service-name":          "edge",
		"otel-schedule-delay-millis": "20",
	}
	docs := []string{
		service("default", "app", appAddr),
		trafficIngress("traced", "traced.example", nil, "/api", "app"),
		annIngress("fresh", "fresh.example", "app", map[string]string{"enable-opentelemetry": "true",
			"opentelemetry-trust-incoming-span": "false", "opentelemetry-operation-name": "checkout"}),
		annIngress("optout", "off.example", "app", map[string]string{"enable-opentelemetry": "false"}),
		annIngress("guarded", "guarded.example", "app", map[string]string{"auth-url": auth.URL + "/check", "auth-response-headers": "X-Seen-Traceparent"}),
	}
	m := startWithConfigMap(t, cm, docs...)
	c := m.client(nil, false)
	in := map[string]string{"Traceparent": inTrace, "Tracestate": "vendor=abc", "User-Agent": "tracing-test"}

	// Trusted (the default): moat's span is the child of the incoming
	// one, and the backend's parent is moat's span.
	r := req(t, c, "GET", "http://traced.example/api/items?q=1", in)
	if r.status != 200 {
		t.Fatalf("traced: %d", r.status)
	}
	tid, sid, flags := traceparent(t, r.echoHeader("Traceparent"))
	if tid != inTraceID || sid == inParentID || flags != "01" || r.echoHeader("Tracestate") != "vendor=abc" {
		t.Errorf("backend traceparent %q tracestate %q: want trace %s, a new parent, sampled, the tracestate passed on",
			r.echoHeader("Traceparent"), r.echoHeader("Tracestate"), inTraceID)
	}
	s := spanFor(t, rcv, sid)
	if s.TraceID != inTraceID || s.ParentSpanID != inParentID || s.Kind != 2 || s.Service != "edge" || s.StatusCode != 1 {
		t.Errorf("span %+v: want trace %s, parent %s, server kind, service edge, status ok", s, inTraceID, inParentID)
	}
	// ingress-nginx's location for Prefix /api is "/api/"; the
	// attributes are the otel module's.
	if s.Name != "/api/" {
		t.Errorf("span name %q, want the location name /api/", s.Name)
	}
	for k, v := range map[string]any{"http.method": "GET", "http.target": "/api/items?q=1", "http.flavor": "1.1", "http.host": "traced.example",
		"http.server_name": "traced.example", "http.scheme": "http", "http.user_agent": "tracing-test", "http.status_code": int64(200), "net.peer.ip": "127.0.0.1"} {
		if s.Attrs[k] != v {
			t.Errorf("attribute %s = %v (%T), want %v", k, s.Attrs[k], s.Attrs[k], v)
		}
	}
	if p, _ := s.Attrs["net.peer.port"].(int64); p == 0 {
		t.Errorf("net.peer.port missing: %v", s.Attrs)
	}

	// Not trusted: a new trace; the incoming pair does not reach the
	// backend; the annotation names the span.
	r = req(t, c, "GET", "http://fresh.example/pay", in)
	tid, sid, _ = traceparent(t, r.echoHeader("Traceparent"))
	if tid == inTraceID || r.echoHeader("Tracestate") != "" {
		t.Errorf("untrusted: backend traceparent %q tracestate %q: want a new trace and no tracestate", r.echoHeader("Traceparent"), r.echoHeader("Tracestate"))
	}
	s = spanFor(t, rcv, sid)
	if s.TraceID != tid || s.ParentSpanID != "" || s.Name != "checkout" {
		t.Errorf("untrusted span %+v: want a root of trace %s named checkout", s, tid)
	}

	// auth-url's sub-request carries moat's span too, as the backend's.
	r = req(t, c, "GET", "http://guarded.example/", in)
	if tp := r.echoHeader("Traceparent"); r.status != 200 || tp == "" || r.echoHeader("X-Seen-Traceparent") != tp || strings.Contains(tp, inParentID) {
		t.Errorf("auth-url: %d, auth service saw %q, backend %q: want moat's span in both", r.status, r.echoHeader("X-Seen-Traceparent"), tp)
	}

	// Opted out: no span, and the client's traceparent passes untouched.
	r = req(t, c, "GET", "http://off.example/", in)
	if r.echoHeader("Traceparent") != inTrace {
		t.Errorf("untraced Ingress: backend traceparent %q, want the client's", r.echoHeader("Traceparent"))
	}
	// A traced request after it: once its span is in, the untraced one
	// would have been too (one queue, in order).
	r = req(t, c, "GET", "http://traced.example/api", nil)
	_, sid, _ = traceparent(t, r.echoHeader("Traceparent"))
	if s := spanFor(t, rcv, sid); s.ParentSpanID != "" || s.Name != "/api" {
		t.Errorf("no incoming span: %+v, want a root named /api (the exact location)", s)
	}
	for _, s := range rcv.Spans() {
		if s.Attrs["http.host"] == "off.example" {
			t.Errorf("span for the Ingress with enable-opentelemetry false: %+v", s)
		}
	}

	// Live change: ratio 0, not parent-based: requests are served with
	// an unsampled traceparent and nothing is exported.
	cm["otel-sampler"] = "TraceIdRatioBased"
	cm["otel-sampler-ratio"] = "0"
	cm["otel-sampler-parent-based"] = "false"
	writeFile(t, m.dir, "all.yaml", join(append([]string{controllerConfigMap(cm)}, docs...)...))
	eventually(t, 10*time.Second, "sampler ratio 0 applied", func() bool {
		r := req(t, c, "GET", "http://traced.example/api", in)
		_, _, flags := traceparent(t, r.echoHeader("Traceparent"))
		return flags == "00"
	})
	var unsampled []string
	for i := 0; i < 20; i++ {
		r := req(t, c, "GET", "http://traced.example/api", in)
		tid, sid, flags := traceparent(t, r.echoHeader("Traceparent"))
		if r.status != 200 || tid != inTraceID || flags != "00" {
			t.Fatalf("ratio 0: %d, backend traceparent %q", r.status, r.echoHeader("Traceparent"))
		}
		unsampled = append(unsampled, sid)
	}
	// Back to AlwaysOn, with an operation name of nginx variables; once
	// a new span is in, none of the ratio-0 requests' spans may be.
	delete(cm, "otel-sampler")
	delete(cm, "otel-sampler-ratio")
	cm["opentelemetry-operation-name"] = "HTTP $request_method $uri $status"
	writeFile(t, m.dir, "all.yaml", join(append([]string{controllerConfigMap(cm)}, docs...)...))
	eventually(t, 10*time.Second, "AlwaysOn again, the operation name applied", func() bool {
		r := req(t, c, "GET", "http://traced.example/api/v", nil)
		_, sid, flags := traceparent(t, r.echoHeader("Traceparent"))
		return flags == "01" && spanFor(t, rcv, sid).Name == "HTTP GET /api/v 200"
	})
	for _, s := range rcv.Spans() {
		for _, u := range unsampled {
			if s.SpanID == u {
				t.Errorf("a span of the ratio-0 phase was exported: %+v", s)
			}
		}
	}
}

// TestTracingCollectorDown: with the collector unreachable every request
// is still served, the backend still gets a traceparent, and the failed
// exports are counted in moat_tracing_spans_total and logged.
func TestTracingCollectorDown(t *testing.T) {
	host, port, _ := strings.Cut(closedPort(t), ":")
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	m := startWithConfigMap(t, map[string]string{
		"enable-opentelemetry":       "true",
		"otlp-collector-host":        host,
		"otlp-collector-port":        port,
		"otel-schedule-delay-millis": "10",
		"otel-max-queuesize":         "4",
		"otel-max-export-batch-size": "2",
	}, service("default", "app", appAddr), ingress("default", "web", "web.example", "", "/", "app"))
	c := m.client(nil, false)
	for i := 0; i < 40; i++ {
		r := req(t, c, "GET", "http://web.example/", nil)
		if r.status != 200 {
			t.Fatalf("request %d with the collector down: %d", i, r.status)
		}
		traceparent(t, r.echoHeader("Traceparent"))
	}
	eventually(t, 10*time.Second, "failed exports counted and logged", func() bool {
		_, body := adminGet(t, m, "/metrics")
		return metricAbove(body, `moat_tracing_spans_total{outcome="failed"}`, 0) &&
			strings.Contains(m.logs.String(), "span export failed")
	})
}

// metricAbove reports whether the sample line for series has a value
// above v.
func metricAbove(body, series string, v float64) bool {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(rest, &f); err == nil && f > v {
				return true
			}
		}
	}
	return false
}

// TestTracingBadValues: bad tracing values are diagnostics naming the
// key; the defaults apply and everything keeps serving.
func TestTracingBadValues(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	m := startWithConfigMap(t, map[string]string{
		"enable-opentelemetry": "true",
		"otel-sampler-ratio":   "2.0",
		"otlp-collector-port":  "x",
	}, service("default", "app", appAddr), ingress("default", "web", "web.example", "", "/", "app"))
	c := m.client(nil, false)
	if r := get(t, c, "http://web.example/"); r.status != 200 || r.echoHeader("Traceparent") == "" {
		t.Errorf("served with bad tracing values: %d, traceparent %q", r.status, r.echoHeader("Traceparent"))
	}
	_, diags := adminGet(t, m, "/debug/diagnostics")
	for _, want := range []string{"otel-sampler-ratio", "otlp-collector-port", "OpentelemetryNoCollector"} {
		if !strings.Contains(diags, want) {
			t.Errorf("/debug/diagnostics lacks %s:\n%s", want, diags)
		}
	}
	if n := strings.Count(diags, "ConfigMapInvalidValue"); n != 2 {
		t.Errorf("%d ConfigMapInvalidValue diagnostics, want 2:\n%s", n, diags)
	}
}
