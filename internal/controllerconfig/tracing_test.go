package controllerconfig

import (
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// The defaults are ingress-nginx's Go defaults (config.go NewDefault),
// which its documentation's table repeats: AlwaysOn, parent-based.
func TestTracingDefaults(t *testing.T) {
	tr := Default().Tracing
	if tr.Enabled || !tr.TrustIncomingSpan || tr.OperationNameFormat != nil || tr.CollectorHost != "" || tr.CollectorPort != 4317 {
		t.Errorf("defaults: %+v", tr)
	}
	e := tr.Exporter()
	want := routecfg.TracingExporter{ServiceName: "nginx", Sampler: routecfg.SamplerAlwaysOn, Ratio: 0.01, ParentBased: true,
		MaxQueueSize: 2048, MaxExportBatchSize: 512, ScheduleDelay: 5 * time.Second}
	if e != want {
		t.Errorf("exporter defaults:\n got %+v\nwant %+v", e, want)
	}
}

func TestTracingParse(t *testing.T) {
	c, ds := Parse(map[string]string{
		"enable-opentelemetry":              "true",
		"opentelemetry-trust-incoming-span": "false",
		"opentelemetry-operation-name":      "HTTP $request_method $uri",
		"otlp-collector-host":               "otel-collector.monitoring.svc",
		"otlp-collector-port":               "14317",
		"otel-service-name":                 "edge",
		"otel-sampler":                      "TraceIdRatioBased",
		"otel-sampler-ratio":                "0.25",
		"otel-sampler-parent-based":         "false",
		"otel-max-queuesize":                "100",
		"otel-schedule-delay-millis":        "250",
		"otel-max-export-batch-size":        "500",
	}, cmRef)
	if len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	tr := c.Tracing
	if !tr.Enabled || tr.TrustIncomingSpan || tr.OperationNameFormat == nil || len(tr.OperationNameFormat.Steps) != 4 {
		t.Errorf("parsed: %+v", tr)
	}
	want := routecfg.TracingExporter{Endpoint: "otel-collector.monitoring.svc:14317", ServiceName: "edge", Sampler: routecfg.SamplerTraceIDRatio,
		Ratio: 0.25, ParentBased: false, MaxQueueSize: 100, MaxExportBatchSize: 100, ScheduleDelay: 250 * time.Millisecond}
	if e := tr.Exporter(); e != want {
		t.Errorf("exporter (batch capped at the queue):\n got %+v\nwant %+v", e, want)
	}
	for host, endpoint := range map[string]string{"10.0.0.7": "10.0.0.7:4317", "http://collector": "collector:4317", "fd00::7": "[fd00::7]:4317", "[fd00::7]": "[fd00::7]:4317"} {
		c, ds := Parse(map[string]string{"otlp-collector-host": host}, cmRef)
		if len(ds) != 0 || c.Tracing.Exporter().Endpoint != endpoint {
			t.Errorf("host %q: endpoint %q, diagnostics %v; want %q", host, c.Tracing.Exporter().Endpoint, ds, endpoint)
		}
	}
}

// A bad value is reported naming the key, and its default is used.
func TestTracingBadValues(t *testing.T) {
	for key, v := range map[string]string{
		"otel-sampler-ratio":                "2.0",
		"otlp-collector-port":               "x",
		"otel-sampler":                      "remote",
		"otlp-collector-host":               "collector:4317",
		"enable-opentelemetry":              "yes",
		"opentelemetry-trust-incoming-span": "maybe",
		"opentelemetry-operation-name":      "HTTP $no_such_variable",
		"otel-max-queuesize":                "lots",
		"otel-schedule-delay-millis":        "5s",
		"otel-sampler-parent-based":         "1.0",
	} {
		c, ds := Parse(map[string]string{key: v}, cmRef)
		if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data."+key || !strings.Contains(ds[0].Message, key) {
			t.Errorf("%s: %q: diagnostics %v", key, v, ds)
		}
		if c.Tracing != Default().Tracing {
			t.Errorf("%s: %q: default not kept: %+v", key, v, c.Tracing)
		}
	}
}

func TestTracingCapped(t *testing.T) {
	c, ds := Parse(map[string]string{"otel-max-queuesize": "0", "otel-schedule-delay-millis": "0", "otel-max-export-batch-size": "99999999"}, cmRef)
	if len(ds) != 3 {
		t.Fatalf("diagnostics: %v", ds)
	}
	for _, d := range ds {
		if d.Reason != "ConfigMapValueCapped" {
			t.Errorf("%v", d)
		}
	}
	tr := c.Tracing
	if tr.MaxQueueSize != 1 || tr.ScheduleDelay != time.Millisecond || tr.MaxExportBatchSize != MaxTracingQueue || tr.Exporter().MaxExportBatchSize != 1 {
		t.Errorf("capped: %+v", tr)
	}
}
