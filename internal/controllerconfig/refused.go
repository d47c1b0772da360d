package controllerconfig

import "sort"

// Refused is a key of ingress-nginx's ConfigMap documentation that moat
// does not apply: the reason says why and what to do instead. A refused
// key set to ingress-nginx's default changes nothing (unless Differs), so
// it is reported as info; any other value as a warning
// (ConfigMapKeyRefused).
type Refused struct {
	Name    string
	Default string
	Why     string
	// Differs: moat behaves unlike ingress-nginx even at the default, so
	// setting the default is a warning too.
	Differs bool
}

// RefusedKeys is the table of refused keys, sorted by name.
func RefusedKeys() []Refused { return refused }

// Reasons shared by several keys.
const (
	whyNginxProcess = "tunes nginx's worker processes; moat is one Go process (GOMAXPROCS follows the container's CPU limit)"
	whyLogFile      = "moat writes its access log to stdout and its own log to stderr (see --access-log); collect them from the container"
	whySyslog       = "moat does not send logs over syslog; it writes them to stdout and stderr for the container runtime"
	whySnippet      = "snippets are nginx configuration text; moat never passes configuration text through (security.md)"
	whyJaeger       = "ingress-nginx removed Jaeger/OpenTracing in v1.10 and ignores the key; use enable-opentelemetry"
	whyGeoIP        = "moat has no GeoIP database and sets no $geoip_* variables"
)

var refused = []Refused{
	{"access-log-params", "", whyLogFile, false},
	{"access-log-path", "/var/log/nginx/access.log", whyLogFile, false},
	{"allow-cross-namespace-resources", "false", "moat never lets an annotation read a Secret or ConfigMap of another namespace (AnnotationCrossNamespace); \"true\" is not offered", false},
	{"bind-address", "", "the listen addresses are moat's --http-addr and --https-addr flags", false},
	{"debug-connections", "", "nginx debug logging per client address; use moat's /debug views and the access log", false},
	{"default-type", "text/html", "moat's own answers are text/plain (nginx's error pages text/html) and a proxied response keeps the upstream's Content-Type; no default is chosen", true},
	{"disable-ipv6", "false", "moat listens on the addresses of --http-addr and --https-addr; choose IPv4-only addresses there", false},
	{"disable-ipv6-dns", "false", "moat resolves with the cluster's resolver through Go; it has no nginx resolver to restrict", false},
	{"enable-aio-write", "true", whyNginxProcess, false},
	{"enable-multi-accept", "true", whyNginxProcess, false},
	{"enable-ocsp", "false", "OCSP stapling is not implemented", false},
	{"enable-syslog", "false", whySyslog, false},
	{"error-log-level", "notice", "moat's log level is set when it starts (its own flags), not from the ConfigMap", false},
	{"error-log-path", "/var/log/nginx/error.log", whyLogFile, false},
	{"geoip2-autoreload-in-minutes", "0", whyGeoIP, false},
	{"global-auth-snippet", "", whySnippet, false},
	{"grpc-buffer-size-kb", "0", "nginx's gRPC response buffer; moat streams gRPC responses without a fixed buffer", false},
	{"http-access-log-path", "", whyLogFile, false},
	{"http-snippet", "", whySnippet, false},
	{"jaeger-baggage-header", "jaeger-baggage", whyJaeger, false},
	{"jaeger-collector-host", "", whyJaeger, false},
	{"jaeger-collector-port", "6831", whyJaeger, false},
	{"jaeger-debug-header", "uber-debug-id", whyJaeger, false},
	{"jaeger-endpoint", "", whyJaeger, false},
	{"jaeger-propagation-format", "jaeger", whyJaeger, false},
	{"jaeger-sampler-host", "http://127.0.0.1", whyJaeger, false},
	{"jaeger-sampler-param", "1", whyJaeger, false},
	{"jaeger-sampler-port", "5778", whyJaeger, false},
	{"jaeger-sampler-type", "const", whyJaeger, false},
	{"jaeger-service-name", "nginx", whyJaeger, false},
	{"jaeger-trace-baggage-header-prefix", "uberctx-", whyJaeger, false},
	{"jaeger-trace-context-header-name", "uber-trace-id", whyJaeger, false},
	{"limit-conn-zone-variable", "$binary_remote_addr", "moat counts limit-connections per client address, which is the default; other keys are not offered", false},
	{"location-snippet", "", whySnippet, false},
	{"log-format-stream", "[$remote_addr] [$time_local] $protocol $status $bytes_sent $bytes_received $session_time", "moat writes no per-connection log for TCP and UDP services", true},
	{"lua-shared-dicts", "", "moat runs no Lua; its state is in Go", false},
	{"main-snippet", "", whySnippet, false},
	{"max-worker-open-files", "0", "moat is one process and uses the open-file limit it is given; raise the container's limit instead", false},
	{"nginx-status-ipv4-whitelist", "127.0.0.1", "moat has no nginx status page; /metrics and /debug are on --admin-addr (loopback by default)", false},
	{"nginx-status-ipv6-whitelist", "::1", "moat has no nginx status page; /metrics and /debug are on --admin-addr (loopback by default)", false},
	{"opentelemetry-config", "/etc/ingress-controller/telemetry/opentelemetry.toml", "the path of the nginx otel module's own configuration file; moat has no such file: the otlp-*, otel-* and opentelemetry-* keys configure tracing (docs/tracing.md)", false},
	{"proxy-busy-buffers-size", "", "not implemented as a controller default; moat does not size nginx's busy buffers (see proxy-buffering)", false},
	{"proxy-ssl-location-only", "false", "not implemented: moat applies the proxy-ssl-* annotations as the Ingress gives them", true},
	{"relative-redirects", "false", "moat's redirects carry the Location they are given; it does not rewrite them to relative form", false},
	{"reuse-port", "true", whyNginxProcess, false},
	{"server-snippet", "", whySnippet, false},
	{"service-upstream", "false", "not implemented as a controller default; the service-upstream annotation works per Ingress", false},
	{"ssl-buffer-size", "4k", "Go's TLS sizes records itself (small first, then full size), which is what the 4k default aims at; no fixed size is offered", false},
	{"ssl-dh-param", "", "Go's TLS has no finite-field Diffie-Hellman suites; ECDHE is used", false},
	{"ssl-early-data", "false", "Go's TLS server does not accept TLS 1.3 early data", false},
	{"ssl-ecdh-curve", "auto", "not implemented: Go's TLS chooses the curves (X25519MLKEM768, X25519, P-256, P-384)", false},
	{"ssl-session-ticket-key", "(generated)", "moat makes and rotates its own session ticket keys (docs/tls.md)", false},
	{"stream-access-log-path", "", whyLogFile, false},
	{"stream-snippet", "", whySnippet, false},
	{"strict-validate-path-type", "true", "not implemented: moat serves Exact and Prefix paths with regex characters literally and warns (PathLooksLikeRegex), where ingress-nginx refuses the Ingress", true},
	{"syslog-host", "", whySyslog, false},
	{"syslog-port", "514", whySyslog, false},
	{"upstream-keepalive-connections", "320", "not implemented: moat keeps at most 256 idle connections per endpoint, whatever the value (ingress-nginx: 320 per upstream and worker)", true},
	{"upstream-keepalive-requests", "10000", "not implemented: moat reuses an upstream connection without a request limit (ingress-nginx: 10000)", true},
	{"upstream-keepalive-time", "1h", "not implemented: moat does not retire a busy upstream connection after a time (ingress-nginx: 1h)", true},
	{"upstream-keepalive-timeout", "60", "not implemented: moat closes idle upstream connections after 90 s, whatever the value (ingress-nginx: 60 s)", true},
	{"use-geoip", "true", whyGeoIP, false},
	{"use-geoip2", "false", whyGeoIP, false},
	{"worker-cpu-affinity", "", whyNginxProcess, false},
	{"worker-processes", "(number of CPUs)", whyNginxProcess, false},
}

func lookupRefused(name string) (Refused, bool) {
	i := sort.Search(len(refused), func(i int) bool { return refused[i].Name >= name })
	if i < len(refused) && refused[i].Name == name {
		return refused[i], true
	}
	return Refused{}, false
}
