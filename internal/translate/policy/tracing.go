package policy

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/opentelemetry"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// tracingAnnotations reads an Ingress's opentelemetry annotations and
// notes whether it turns tracing on.
func (t *Extractor) tracingAnnotations(r *annotations.Reader) *routecfg.RouteTracing {
	rt := opentelemetry.Parse(r)
	if rt != nil && rt.Enabled {
		t.tracedIngress = true
		if !t.Ctrl.Tracing.Enabled {
			t.Add(diag.Diagnostic{Object: r.Object, Severity: diag.Info, Reason: "OpentelemetryOnlyAnnotated", Field: "metadata.annotations." + r.FullKey("enable-opentelemetry"),
				Message: "this Ingress turns tracing on while the controller ConfigMap's enable-opentelemetry is false: moat traces only such Ingresses; ingress-nginx's otel module, once loaded, also makes spans for every other location (without passing traceparent on)",
				Hint:    "to trace everything, set enable-opentelemetry: \"true\" in the controller ConfigMap"})
		}
	}
	return rt
}

// FinishTracing sets the configuration's tracing when the ConfigMap or an
// Ingress turns it on; otherwise it stays nil and requests pay nothing.
func (t *Extractor) FinishTracing() {
	c := &t.Ctrl.Tracing
	if !c.Enabled && !t.tracedIngress {
		return
	}
	t.Config.Tracing = &routecfg.Tracing{
		Enabled:           c.Enabled,
		TrustIncomingSpan: c.TrustIncomingSpan,
		OperationName:     c.OperationNameFormat,
		Exporter:          c.Exporter(),
	}
	if c.CollectorHost == "" {
		ref := diag.ObjectRef{Name: "--configmap"}
		if ns, n, ok := strings.Cut(t.Opts.ConfigMap, "/"); ok {
			ref = t.Snapshot.Ref(store.KindConfigMap, ns, n)
		}
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "OpentelemetryNoCollector", Field: "data.otlp-collector-host",
			Message: "OpenTelemetry is enabled but otlp-collector-host is not set: spans are made and traceparent is passed to backends, but nothing is exported",
			Hint:    "set otlp-collector-host (and otlp-collector-port, default 4317) in the controller ConfigMap"})
	}
}
