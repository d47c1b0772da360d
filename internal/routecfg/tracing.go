package routecfg

import (
	"time"

	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// Tracing is OpenTelemetry as ingress-nginx's otel module does it: the
// exporter and the default of every route (the controller ConfigMap's
// enable-opentelemetry, opentelemetry-trust-incoming-span and
// opentelemetry-operation-name). translate sets it only when some route is
// traced, so a configuration without tracing costs requests nothing.
type Tracing struct {
	// Enabled traces every route whose Ingress does not say otherwise.
	Enabled bool
	// TrustIncomingSpan makes a request's W3C traceparent the parent of
	// its server span; otherwise every span starts a new trace.
	TrustIncomingSpan bool
	// OperationName names the server spans (nginx variables expanded
	// when the request ends); nil: the nginx location name.
	OperationName *logformat.Format
	// Exporter is where and how spans go; the data plane keeps its
	// exporter while this is unchanged.
	Exporter TracingExporter
}

// TracingExporter is the OTLP/gRPC exporter, its batch processor and the
// sampler. It is comparable: equal values share one exporter.
type TracingExporter struct {
	// Endpoint is "host:port" of the OTLP/gRPC collector (plaintext, as
	// ingress-nginx writes it); "" exports nothing.
	Endpoint string
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Sampler decides which new traces are recorded; Ratio is
	// TraceIdRatioBased's share; ParentBased follows a trusted parent's
	// sampled flag instead.
	Sampler     Sampler
	Ratio       float64
	ParentBased bool
	// MaxQueueSize bounds the spans waiting for export (more are
	// dropped); MaxExportBatchSize bounds one export; ScheduleDelay is
	// the longest a span waits for its batch.
	MaxQueueSize       int
	MaxExportBatchSize int
	ScheduleDelay      time.Duration
}

// Sampler is otel-sampler.
type Sampler uint8

// The samplers ingress-nginx's otel module knows.
const (
	SamplerAlwaysOn Sampler = iota
	SamplerAlwaysOff
	SamplerTraceIDRatio
)

func (s Sampler) String() string {
	switch s {
	case SamplerAlwaysOff:
		return "AlwaysOff"
	case SamplerTraceIDRatio:
		return "TraceIdRatioBased"
	}
	return "AlwaysOn"
}

// RouteTracing is an Ingress's opentelemetry annotations. As in
// ingress-nginx, trust and operation name are read only with
// enable-opentelemetry set on the Ingress.
type RouteTracing struct {
	// Enabled is enable-opentelemetry: traced or not, whatever the
	// ConfigMap says.
	Enabled bool
	// TrustSet: opentelemetry-trust-incoming-span is set, to Trust.
	TrustSet, Trust bool
	// OperationName is opentelemetry-operation-name, a literal name; ""
	// keeps the ConfigMap's.
	OperationName string
}

// RouteSpan is how one route's requests are traced.
type RouteSpan struct {
	On, Trust bool
	// Name is the annotation's operation name; "" means t.OperationName,
	// else the location name.
	Name string
}

// ForRoute merges the ConfigMap's defaults with rt's annotations (rt may
// be nil: a request no route matched), as ingress-nginx's template does
// per location.
func (t *Tracing) ForRoute(rt *Route) RouteSpan {
	s := RouteSpan{On: t.Enabled, Trust: t.TrustIncomingSpan}
	if rt == nil || rt.Policy == nil || rt.Policy.Tracing == nil {
		return s
	}
	a := rt.Policy.Tracing
	s.On = a.Enabled
	if a.TrustSet {
		s.Trust = a.Trust
	}
	s.Name = a.OperationName
	return s
}

// LocationName is the name nginx gives the location ingress-nginx writes
// for rt, the span name when no operation name is set: "^path" for a
// regex location; for a Prefix path, "path/" (ingress-nginx writes
// location /foo/ and, for the bare path, = /foo); the path otherwise.
// reqPath is the request's normalised path; rt nil is the default
// location "/".
func LocationName(rt *Route, reqPath string) string {
	if rt == nil {
		return "/"
	}
	switch rt.Match {
	case MatchRegex:
		return "^" + rt.Path
	case MatchPrefix:
		if rt.Path != "/" && reqPath != rt.Path {
			return rt.Path + "/"
		}
	}
	return rt.Path
}
