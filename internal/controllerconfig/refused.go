package controllerconfig

import "sort"

// Refused is a key of ingress-nginx's ConfigMap documentation that moat
// does not apply: the reason says why and what to do instead. A refused
// key set to ingress-nginx's default changes nothing, so it is reported
// as info; any other value as a warning (ConfigMapKeyRefused).
type Refused struct {
	Name    string
	Default string
	Why     string
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
	{"access-log-params", "", whyLogFile},
	{"access-log-path", "/var/log/nginx/access.log", whyLogFile},
	{"allow-cross-namespace-resources", "false", "moat never lets an annotation read a Secret or ConfigMap of another namespace (AnnotationCrossNamespace); \"true\" is not offered"},
	{"annotation-value-word-blocklist", "", "not implemented: moat parses every annotation into a typed value and never templates one into configuration, which is what the block-list guards against in nginx"},
	{"bind-address", "", "the listen addresses are moat's --http-addr and --https-addr flags"},
	{"debug-connections", "", "nginx debug logging per client address; use moat's /debug views and the access log"},
	{"default-type", "text/html", "moat's own answers carry their Content-Type and a proxied response keeps the upstream's; there is no default to choose"},
	{"disable-ipv6", "false", "moat listens on the addresses of --http-addr and --https-addr; choose IPv4-only addresses there"},
	{"disable-ipv6-dns", "false", "moat resolves with the cluster's resolver through Go; it has no nginx resolver to restrict"},
	{"enable-access-log-for-default-backend", "false", "moat logs every request it answers, the default backend's included; use skip-access-log-urls to leave some out"},
	{"enable-aio-write", "true", whyNginxProcess},
	{"enable-multi-accept", "true", whyNginxProcess},
	{"enable-ocsp", "false", "OCSP stapling is not implemented"},
	{"enable-syslog", "false", whySyslog},
	{"error-log-level", "notice", "moat's log level is set when it starts (its own flags), not from the ConfigMap"},
	{"error-log-path", "/var/log/nginx/error.log", whyLogFile},
	{"geoip2-autoreload-in-minutes", "0", whyGeoIP},
	{"global-auth-snippet", "", whySnippet},
	{"grpc-buffer-size-kb", "0", "nginx's gRPC response buffer; moat streams gRPC responses without a fixed buffer"},
	{"http-access-log-path", "", whyLogFile},
	{"http-snippet", "", whySnippet},
	{"jaeger-baggage-header", "jaeger-baggage", whyJaeger},
	{"jaeger-collector-host", "", whyJaeger},
	{"jaeger-collector-port", "6831", whyJaeger},
	{"jaeger-debug-header", "uber-debug-id", whyJaeger},
	{"jaeger-endpoint", "", whyJaeger},
	{"jaeger-propagation-format", "jaeger", whyJaeger},
	{"jaeger-sampler-host", "http://127.0.0.1", whyJaeger},
	{"jaeger-sampler-param", "1", whyJaeger},
	{"jaeger-sampler-port", "5778", whyJaeger},
	{"jaeger-sampler-type", "const", whyJaeger},
	{"jaeger-service-name", "nginx", whyJaeger},
	{"jaeger-trace-baggage-header-prefix", "uberctx-", whyJaeger},
	{"jaeger-trace-context-header-name", "uber-trace-id", whyJaeger},
	{"large-client-header-buffers", "4 8k", "not implemented: moat reads request heads of up to 1 MiB (431 beyond), where nginx answers 414 or 400 beyond one buffer per line"},
	{"limit-conn-zone-variable", "$binary_remote_addr", "moat counts limit-connections per client address, which is the default; other keys are not offered"},
	{"location-snippet", "", whySnippet},
	{"log-format-stream", "[$remote_addr] [$time_local] $protocol $status $bytes_sent $bytes_received $session_time", "moat writes no per-connection log for TCP and UDP services"},
	{"lua-shared-dicts", "", "moat runs no Lua; its state is in Go"},
	{"main-snippet", "", whySnippet},
	{"max-worker-open-files", "0", "moat is one process and uses the open-file limit it is given; raise the container's limit instead"},
	{"nginx-status-ipv4-whitelist", "127.0.0.1", "moat has no nginx status page; /metrics and /debug are on --admin-addr (loopback by default)"},
	{"nginx-status-ipv6-whitelist", "::1", "moat has no nginx status page; /metrics and /debug are on --admin-addr (loopback by default)"},
	{"proxy-busy-buffers-size", "", "not implemented as a controller default; moat does not size nginx's busy buffers (see proxy-buffering)"},
	{"proxy-cookie-domain", "off", "not implemented as a controller default; the proxy-cookie-domain annotation works per Ingress"},
	{"proxy-cookie-path", "off", "not implemented as a controller default; the proxy-cookie-path annotation works per Ingress"},
	{"proxy-redirect-from", "off", "not implemented as a controller default; the proxy-redirect-from annotation works per Ingress"},
	{"proxy-ssl-location-only", "false", "not implemented: moat applies the proxy-ssl-* annotations as the Ingress gives them"},
	{"relative-redirects", "false", "moat's redirects carry the Location they are given; it does not rewrite them to relative form"},
	{"reuse-port", "true", whyNginxProcess},
	{"server-snippet", "", whySnippet},
	{"service-upstream", "false", "not implemented as a controller default; the service-upstream annotation works per Ingress"},
	{"ssl-buffer-size", "4k", "Go's TLS sizes records itself (small first, then full size), which is what the 4k default aims at; no fixed size is offered"},
	{"ssl-dh-param", "", "Go's TLS has no finite-field Diffie-Hellman suites; ECDHE is used"},
	{"ssl-early-data", "false", "Go's TLS server does not accept TLS 1.3 early data"},
	{"ssl-ecdh-curve", "auto", "not implemented: Go's TLS chooses the curves (X25519MLKEM768, X25519, P-256, P-384)"},
	{"ssl-session-ticket-key", "(generated)", "moat makes and rotates its own session ticket keys (docs/tls.md)"},
	{"stream-access-log-path", "", whyLogFile},
	{"stream-snippet", "", whySnippet},
	{"strict-validate-path-type", "true", "not implemented: moat serves Exact and Prefix paths with regex characters literally and warns (PathLooksLikeRegex), where ingress-nginx refuses the Ingress"},
	{"syslog-host", "", whySyslog},
	{"syslog-port", "514", whySyslog},
	{"upstream-keepalive-connections", "320", "not implemented: moat keeps its own bounded pool of idle upstream connections per backend"},
	{"upstream-keepalive-requests", "10000", "not implemented: moat does not close upstream connections after a number of requests"},
	{"upstream-keepalive-time", "1h", "not implemented: moat does not close busy upstream connections after a time"},
	{"upstream-keepalive-timeout", "60", "not implemented: moat's idle upstream connections close after its own idle timeout"},
	{"use-geoip", "true", whyGeoIP},
	{"use-geoip2", "false", whyGeoIP},
	{"worker-cpu-affinity", "", whyNginxProcess},
	{"worker-processes", "(number of CPUs)", whyNginxProcess},
}

func lookupRefused(name string) (Refused, bool) {
	i := sort.Search(len(refused), func(i int) bool { return refused[i].Name >= name })
	if i < len(refused) && refused[i].Name == name {
		return refused[i], true
	}
	return Refused{}, false
}
