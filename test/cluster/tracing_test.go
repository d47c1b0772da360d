package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/testutil"
)

// TestTracing: in cluster mode the ConfigMap's OpenTelemetry keys go
// through the same path as in file mode: spans reach an OTLP/gRPC
// collector as children of the incoming span, the backend's traceparent
// names moat's span, and a ConfigMap change (trust off) applies live.
func TestTracing(t *testing.T) {
	ns := namespace(t, "tracing")
	rcv := testutil.StartOTLPReceiver(t, false)
	host, port, _ := strings.Cut(rcv.Addr, ":")
	cm := map[string]string{"enable-opentelemetry": "true", "otlp-collector-host": host, "otlp-collector-port": port, "otel-schedule-delay-millis": "20"}
	setConfigMap(t, cm)
	createService(t, ns, "web", backend(t, "web"))
	createIngress(t, ingress(ns, "web", "trace.tracing.test", "/", "web", ""))
	m := startMoat(t, "moat-tracing", nil, ns)
	c := m.client(nil)

	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	// traced sends a request with the incoming traceparent and returns
	// the one the backend got.
	traced := func() (string, error) {
		req, _ := http.NewRequest("GET", "http://trace.tracing.test/x", nil)
		req.Header.Set("Traceparent", incoming)
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var e echo.Response
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 200 {
			return "", fmt.Errorf("status %d, body: %v", resp.StatusCode, err)
		}
		if v := e.Headers["Traceparent"]; len(v) == 1 {
			return v[0], nil
		}
		return "", fmt.Errorf("backend got traceparent %q", e.Headers["Traceparent"])
	}
	var tp string
	eventually(t, 10*time.Second, "a traced request", func() error {
		var err error
		tp, err = traced()
		if err == nil && tp == incoming {
			return fmt.Errorf("traceparent passed through untouched: not traced yet")
		}
		return err
	})
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[1] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("backend traceparent %q: want the incoming trace", tp)
	}
	eventually(t, 10*time.Second, "moat's span at the collector", func() error {
		for _, s := range rcv.Spans() {
			if s.SpanID == parts[2] {
				if s.ParentSpanID != "00f067aa0ba902b7" || s.Attrs["http.host"] != "trace.tracing.test" {
					t.Errorf("span %+v: want the incoming span as parent", s)
				}
				return nil
			}
		}
		return fmt.Errorf("%d spans, none is %s", len(rcv.Spans()), parts[2])
	})

	cm["opentelemetry-trust-incoming-span"] = "false"
	setConfigMap(t, cm)
	eventually(t, 10*time.Second, "trust off applied: a new trace", func() error {
		tp, err := traced()
		if err == nil && strings.Contains(tp, "4bf92f3577b34da6a3ce929d0e0e4736") {
			return fmt.Errorf("still the incoming trace: %s", tp)
		}
		return err
	})
}
