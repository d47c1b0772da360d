package controllerconfig

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// Tracing holds the OpenTelemetry keys: ingress-nginx writes them into
// its otel module's configuration (opentelemetry.toml), moat into the
// OpenTelemetry Go SDK's.
type Tracing struct {
	Enabled           bool
	TrustIncomingSpan bool
	// OperationName as written; OperationNameFormat compiled (nginx
	// variables), nil when empty.
	OperationName       string
	OperationNameFormat *logformat.Format
	CollectorHost       string
	CollectorPort       int
	ServiceName         string
	Sampler             routecfg.Sampler
	SamplerRatio        float64
	SamplerParentBased  bool
	MaxQueueSize        int
	ScheduleDelay       time.Duration
	MaxExportBatchSize  int
}

// MaxTracingQueue bounds otel-max-queuesize: the SDK's queue is allocated
// whole, so a huge value would take the memory up front.
const MaxTracingQueue = 1 << 20

// Exporter is the data plane's exporter settings.
func (t *Tracing) Exporter() routecfg.TracingExporter {
	e := routecfg.TracingExporter{
		ServiceName:        t.ServiceName,
		Sampler:            t.Sampler,
		Ratio:              t.SamplerRatio,
		ParentBased:        t.SamplerParentBased,
		MaxQueueSize:       t.MaxQueueSize,
		MaxExportBatchSize: min(t.MaxExportBatchSize, t.MaxQueueSize),
		ScheduleDelay:      t.ScheduleDelay,
	}
	if t.CollectorHost != "" {
		e.Endpoint = joinHostPort(t.CollectorHost, t.CollectorPort)
	}
	return e
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// collectorHost accepts what ingress-nginx's module makes an endpoint of
// (host + ":" + port): a DNS name or an IP address, optionally written as
// an http:// URL without path (the gRPC endpoint form).
func collectorHost(c *Config, v string) error {
	h := strings.TrimSuffix(strings.TrimPrefix(v, "http://"), "/")
	if h == "" && v != "" {
		return fmt.Errorf("no host")
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
		if a, err := netip.ParseAddr(h); err != nil || !a.Is6() {
			return fmt.Errorf("%q is not an IPv6 address", v)
		}
	}
	if h != "" && !validCollectorHost(h) {
		return fmt.Errorf("expected a host name or IP address (the port is otlp-collector-port)")
	}
	c.Tracing.CollectorHost = h
	return nil
}

func validCollectorHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

func collectorPort(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("expected a port number from 1 to 65535")
	}
	c.Tracing.CollectorPort = n
	return nil
}

func operationName(c *Config, v string) error {
	c.Tracing.OperationName, c.Tracing.OperationNameFormat = "", nil
	if v == "" {
		return nil
	}
	// nginx expands variables in opentelemetry_operation_name; an
	// unexpanded value is a literal name.
	f, err := logformat.Parse(v, logformat.EscapeNone)
	if err != nil {
		return err
	}
	c.Tracing.OperationName, c.Tracing.OperationNameFormat = v, &f
	return nil
}

func sampler(c *Config, v string) error {
	switch v {
	case "AlwaysOn":
		c.Tracing.Sampler = routecfg.SamplerAlwaysOn
	case "AlwaysOff":
		c.Tracing.Sampler = routecfg.SamplerAlwaysOff
	case "TraceIdRatioBased":
		c.Tracing.Sampler = routecfg.SamplerTraceIDRatio
	default:
		// ingress-nginx's documentation also names "remote", which its
		// otel module refuses (nginx then fails its configuration test).
		return fmt.Errorf("expected AlwaysOn, AlwaysOff or TraceIdRatioBased")
	}
	return nil
}

func samplerRatio(c *Config, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return fmt.Errorf("expected a number from 0 to 1")
	}
	c.Tracing.SamplerRatio = f
	return nil
}

// batchInt parses a batch processor setting. The otel module raises a
// value below lo to lo; moat does too, and says so. Above hi it is capped.
func batchInt(lo, hi int, f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("expected a whole number")
		}
		switch {
		case n < lo:
			*f(c) = lo
			return capped{fmt.Sprintf("the otel module uses at least %d; %d is used", lo, lo)}
		case n > hi:
			*f(c) = hi
			return capped{fmt.Sprintf("moat keeps at most %d; %d is used", hi, hi)}
		}
		*f(c) = n
		return nil
	}
}

func scheduleDelay(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("expected a whole number of milliseconds")
	}
	if n < 1 {
		// The module takes 0 as "export at once"; a zero timer would
		// spin, so moat waits 1 ms.
		c.Tracing.ScheduleDelay = time.Millisecond
		return capped{"moat waits at least 1 ms between exports; 1 is used"}
	}
	if n > 3_600_000 {
		c.Tracing.ScheduleDelay = time.Hour
		return capped{"moat waits at most an hour between exports; 3600000 is used"}
	}
	c.Tracing.ScheduleDelay = time.Duration(n) * time.Millisecond
	return nil
}

// tracingKeys documents and parses the OpenTelemetry keys; keys lists
// them in name order.
var (
	keyEnableOpentelemetry = Key{"enable-opentelemetry", "false", "Trace every request with OpenTelemetry (a server span per request, W3C traceparent/tracestate to the backend, spans exported over OTLP/gRPC); an Ingress may opt in or out with its enable-opentelemetry annotation.",
		boolean(func(c *Config) *bool { return &c.Tracing.Enabled })}
	keyOperationName = Key{"opentelemetry-operation-name", "", "Name of the server spans; nginx variables ($request_method, $uri, $host, ...) are expanded when the request ends. Empty: the nginx location name ingress-nginx writes for the path (/path/ for a Prefix path, ^path for a regex).",
		operationName}
	keyTrustIncomingSpan = Key{"opentelemetry-trust-incoming-span", "true", "Make the incoming traceparent the parent of moat's span; false starts a new trace for every request (the incoming traceparent and tracestate are replaced, not passed on).",
		boolean(func(c *Config) *bool { return &c.Tracing.TrustIncomingSpan })}
	keyMaxExportBatchSize = Key{"otel-max-export-batch-size", "512", "Most spans sent in one export (at most otel-max-queuesize).",
		batchInt(1, MaxTracingQueue, func(c *Config) *int { return &c.Tracing.MaxExportBatchSize })}
	keyMaxQueueSize = Key{"otel-max-queuesize", "2048", "Spans waiting for export; when the collector is slow or down, further spans are dropped (counted in moat_tracing_spans_total{outcome=\"dropped\"}) and requests never wait. moat keeps at most 1048576.",
		batchInt(1, MaxTracingQueue, func(c *Config) *int { return &c.Tracing.MaxQueueSize })}
	keySampler = Key{"otel-sampler", "AlwaysOn", "Which new traces are recorded: AlwaysOn, AlwaysOff or TraceIdRatioBased (with otel-sampler-ratio). Unsampled requests still get a span context and pass a traceparent on.",
		sampler}
	keySamplerParentBased = Key{"otel-sampler-parent-based", "true", "Follow a trusted incoming span's sampled flag; otel-sampler decides only for new traces.",
		boolean(func(c *Config) *bool { return &c.Tracing.SamplerParentBased })}
	keySamplerRatio = Key{"otel-sampler-ratio", "0.01", "Share of new traces recorded by TraceIdRatioBased, from 0 to 1.",
		samplerRatio}
	keyScheduleDelay = Key{"otel-schedule-delay-millis", "5000", "Longest time in milliseconds a finished span waits before its batch is exported.",
		scheduleDelay}
	keyServiceName = Key{"otel-service-name", "nginx", "The service.name resource attribute of moat's spans (ingress-nginx's default kept, so existing queries match).",
		func(c *Config, v string) error { c.Tracing.ServiceName = v; return nil }}
	keyCollectorHost = Key{"otlp-collector-host", "", "Host name or IP address of the OTLP/gRPC collector (plaintext). Empty: spans are made and propagated but not exported.",
		collectorHost}
	keyCollectorPort = Key{"otlp-collector-port", "4317", "Port of the OTLP/gRPC collector.",
		collectorPort}
)
