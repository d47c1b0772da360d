// Package controllerconfig parses the ingress-nginx controller ConfigMap
// (--configmap NAMESPACE/NAME): cluster-wide defaults and policies that
// translate applies to every Ingress and hands to the data plane. Like an
// annotation family it has a declarative key table and a typed Parse that
// reports every bad value and every unknown key.
package controllerconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/timeouts"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/feature/all"
	"github.com/moat-ingress/moat/internal/feature/proxyrewrite"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/compression"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
	"github.com/moat-ingress/moat/internal/tlspolicy"
)

// Config is the parsed ConfigMap. Default() gives ingress-nginx's defaults.
type Config struct {
	// SSLRedirect and ForceSSLRedirect are the defaults of the ssl-redirect
	// and force-ssl-redirect annotations.
	SSLRedirect      bool
	ForceSSLRedirect bool
	// HTTPRedirectCode is the status of HTTP→HTTPS and www redirects:
	// 301, 302, 307 or 308.
	HTTPRedirectCode int
	// NoTLSRedirectLocations are path prefixes never redirected to HTTPS
	// (ACME HTTP-01 challenges by default).
	NoTLSRedirectLocations []string
	// NoAuthLocations are path prefixes whose locations get no
	// authentication (auth-url, global-auth-url, auth-type basic): ACME
	// HTTP-01 challenges by default.
	NoAuthLocations []string

	// HSTS settings; HSTSValue renders the header.
	HSTS                  bool
	HSTSMaxAge            int64
	HSTSIncludeSubdomains bool
	HSTSPreload           bool

	// ProxyBodySize is the default request body limit in bytes; 0 means
	// unlimited (nginx client_max_body_size 0). ProxyBodySizeRaw is the
	// value as written ("1m").
	ProxyBodySize    int64
	ProxyBodySizeRaw string
	// Upstream timeouts (nginx proxy_*_timeout; unitless seconds).
	ProxyConnectTimeout time.Duration
	ProxyReadTimeout    time.Duration
	ProxySendTimeout    time.Duration
	// LimitReqStatusCode answers requests over limit-rps / limit-rpm,
	// LimitConnStatusCode those over limit-connections.
	LimitReqStatusCode  int
	LimitConnStatusCode int
	// LoadBalance is the default load-balance algorithm.
	LoadBalance routecfg.Algorithm
	// Retries: the defaults of proxy-next-upstream, -tries and -timeout;
	// RetryNonIdempotent adds non_idempotent to every location's
	// conditions, as ingress-nginx's retry-non-idempotent.
	ProxyNextUpstream        routecfg.NextUpstream
	ProxyNextUpstreamTries   int
	ProxyNextUpstreamTimeout time.Duration
	RetryNonIdempotent       bool
	// Buffering defaults (proxy-buffering, proxy-request-buffering,
	// client-body-buffer-size, proxy-buffer-size), in bytes for sizes.
	ProxyBuffering        bool
	ProxyRequestBuffering bool
	ClientBodyBufferSize  int64
	ProxyBufferSize       int64
	ProxyBuffersNumber    int64
	ProxyMaxTempFileSize  int64

	// Forwarded headers: whether X-Forwarded-* from peers in
	// ProxyRealIPCIDR are trusted, which header carries the client
	// address, and whether X-Forwarded-For is appended to.
	UseForwardedHeaders     bool
	ForwardedForHeader      string
	ComputeFullForwardedFor bool
	ProxyRealIPCIDR         []netip.Prefix

	// Annotation policy.
	AllowSnippetAnnotations bool
	AnnotationsRiskLevel    string

	// CustomHTTPErrors are intercepted on every location (default for the
	// custom-http-errors annotation).
	CustomHTTPErrors []int
	// DisableProxyInterceptErrors keeps upstream answers listed in
	// CustomHTTPErrors (nginx's http-level proxy_intercept_errors off).
	DisableProxyInterceptErrors bool
	// WhitelistSourceRange is the default allow-list of every location.
	WhitelistSourceRange []netip.Prefix
	// BlockCIDRs and BlockUserAgents are refused with 403 everywhere.
	BlockCIDRs      []netip.Prefix
	BlockUserAgents []string
	// GlobalAllowedResponseHeaders lists the headers the custom-headers
	// annotation may set.
	GlobalAllowedResponseHeaders []string

	// ServerTokens adds the version to the Server header; off by default.
	ServerTokens bool

	// LogFormat is log-format-upstream compiled with its escaping
	// (log-format-escape-json, log-format-escape-none); the raw values
	// are kept so the escaping keys may come in any order.
	LogFormat           logformat.Format
	LogFormatUpstream   string
	LogFormatEscapeJSON bool
	LogFormatEscapeNone bool

	// TLS listener settings, for the data plane's listeners.
	UseHTTP2 bool
	// SSLProtocols as written and as tls versions (Min..Max).
	SSLProtocols        string
	TLSMinVersion       uint16
	TLSMaxVersion       uint16
	SSLCiphers          string
	SSLCipherSuites     []uint16
	SSLSessionCache     bool
	SSLSessionCacheSize string
	SSLSessionTimeout   time.Duration
	SSLSessionTickets   bool

	// Client connection limits (client-header-timeout, client-body-timeout,
	// keep-alive, keep-alive-requests, max-worker-connections).
	ClientHeaderTimeout  time.Duration
	ClientBodyTimeout    time.Duration
	KeepAlive            time.Duration
	KeepAliveRequests    int
	MaxWorkerConnections int
	// HeaderBuffers is large-client-header-buffers: how many buffers and
	// how large, the bounds of a request head.
	HeaderBuffers, HeaderBufferSize int

	// GlobalAuth is external authentication for every location unless an
	// Ingress sets enable-global-auth: "false" or its own auth-url.
	GlobalAuth GlobalAuth

	// Compression is use-gzip, enable-brotli and their settings.
	Compression compression.Config
	// UseProxyProtocol: every client connection on the HTTP and HTTPS
	// listeners starts with a PROXY header (v1 or v2) whose source is the
	// client; ProxyProtocolHeaderTimeout bounds reading it.
	UseProxyProtocol           bool
	ProxyProtocolHeaderTimeout time.Duration
	// Tracing is OpenTelemetry (tracing.go).
	Tracing Tracing
	// The web application firewall (enable-modsecurity,
	// enable-owasp-modsecurity-crs, modsecurity-snippet): see internal/waf.
	EnableModsecurity    bool
	EnableOWASPCoreRules bool
	ModsecuritySnippet   string

	// WorkerShutdownTimeout bounds the drain on shutdown; 0 means no
	// bound, as nginx's worker_shutdown_timeout 0.
	WorkerShutdownTimeout time.Duration

	// Stream are the proxy-stream-* keys, for the TCP and UDP services.
	Stream routecfg.StreamSettings
	// Global headers: ProxySetHeaders and AddHeaders are "namespace/name"
	// of ConfigMaps whose entries translate reads (headers.go);
	// HideHeaders are removed from every upstream response.
	ProxySetHeaders string
	AddHeaders      string
	HideHeaders     []string
	// AllowBackendServerHeader passes the upstream's Server header on.
	AllowBackendServerHeader bool
	// Request header parsing: with IgnoreInvalidHeaders and without
	// EnableUnderscoresInHeaders, request headers whose name has an
	// underscore are dropped, as nginx's underscores_in_headers off.
	EnableUnderscoresInHeaders bool
	IgnoreInvalidHeaders       bool
	// ProxyAddOriginalURIHeader sends X-Original-URI upstream.
	ProxyAddOriginalURIHeader bool
	// AnnotationValueWordBlocklist: an Ingress whose annotation value
	// contains one of these is not served.
	AnnotationValueWordBlocklist []string
	// Settings are the ConfigMap's values by key, for feature folders
	// (feature.Env): a key a feature owns has its validated value or its
	// default; another known key its trimmed value, when set.
	Settings map[string]string
	// ProxyCookieDomain and ProxyCookiePath are the defaults of the
	// proxy-cookie-* annotations; nil is "off".
	ProxyCookieDomain, ProxyCookiePath *routecfg.TextRewrite
	// EnableAccessLogForDefaultBackend logs requests no Ingress answers.
	EnableAccessLogForDefaultBackend bool
	// SSLRejectHandshake refuses TLS handshakes for unknown names.
	SSLRejectHandshake bool
	// LimitRate and LimitRateAfter are the defaults of the limit-rate
	// and limit-rate-after annotations, in KiB/s and KiB.
	LimitRate      int
	LimitRateAfter int
	// HTTP2MaxConcurrentStreams bounds the open streams of one HTTP/2
	// client connection.
	HTTP2MaxConcurrentStreams int
	// GenerateRequestID: a request without X-Request-ID gets one.
	GenerateRequestID bool
	// EnableRealIP takes the client address from ForwardedForHeader of
	// peers in ProxyRealIPCIDR without trusting the other X-Forwarded-*.
	EnableRealIP bool
	// DenylistSourceRange is the default deny-list of every location.
	DenylistSourceRange []netip.Prefix
	// BlockReferers are answered 403 everywhere (exact or ~regex).
	BlockReferers []string
	// Access log: off entirely, or skipped for these request URIs.
	DisableAccessLog  bool
	SkipAccessLogURLs []string
}

// GlobalAuth holds the global-auth-* keys; URL "" means off.
type GlobalAuth struct {
	URL                 string
	Method              string
	Signin              string
	SigninRedirectParam string
	ResponseHeaders     []string
	RequestRedirect     string
	CacheKey            string
	CacheDuration       string
	AlwaysSetCookie     bool
}

// HSTSValue is the Strict-Transport-Security value, or "" when off.
func (c *Config) HSTSValue() string {
	if !c.HSTS {
		return ""
	}
	v := "max-age=" + strconv.FormatInt(c.HSTSMaxAge, 10)
	if c.HSTSIncludeSubdomains {
		v += "; includeSubDomains"
	}
	if c.HSTSPreload {
		v += "; preload"
	}
	return v
}

// Key is one ConfigMap key.
type Key struct {
	Name    string
	Default string
	Doc     string
	set     func(c *Config, v string) error
}

// Keys is the table, sorted by name.
func Keys() []Key { return allKeys() }

// allKeys is keys with the keys that feature folders own (feature/all),
// sorted by name; built once, the tables are constant.
var allKeys = sync.OnceValue(func() []Key {
	out := slices.Clone(keys)
	for _, s := range all.Settings() {
		out = append(out, Key{Name: s.Name, Default: s.Default, Doc: s.Doc, set: featureSetting(s)})
	}
	slices.SortFunc(out, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return out
})

// featureSetting keeps a feature's key in Config.Settings, once its
// Check accepts the value.
func featureSetting(s feature.Setting) func(*Config, string) error {
	return func(c *Config, v string) error {
		if s.Check != nil {
			if err := s.Check(v); err != nil {
				return err
			}
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings[s.Name] = v
		return nil
	}
}

// keys are controllerconfig's own, sorted by name.
var keys = []Key{
	{"add-headers", "", "NAMESPACE/NAME of a ConfigMap whose entries (header: value) are set on every response, proxied or moat's own, as ingress-nginx's more_set_headers (an empty value removes the header); values may use the variables " + templateVarList() + "; any other $variable refuses the entry (GlobalHeaderInvalid). A location's own header annotations win. A bad entry is reported (GlobalHeaderInvalid) and skipped.", configMapRef(func(c *Config) *string { return &c.AddHeaders })},
	{"allow-backend-server-header", "false", "Pass the upstream's Server header on instead of moat's (nginx proxy_pass_header Server); a response without one keeps moat's.", boolean(func(c *Config) *bool { return &c.AllowBackendServerHeader })},
	{"allow-snippet-annotations", "false", "Allow snippet annotations; moat then applies only a literal subset of directives (see docs/annotations.md).", boolean(func(c *Config) *bool { return &c.AllowSnippetAnnotations })},
	{"annotation-value-word-blocklist", "", "Comma-separated words: an Ingress with an annotation whose value contains one (case-sensitive) is not served (AnnotationValueBlocked), as ingress-nginx skips it. Empty words are ignored (in ingress-nginx one would match every value).", func(c *Config, v string) error {
		c.AnnotationValueWordBlocklist = nginx.SplitList(v)
		return nil
	}},
	{"annotations-risk-level", "High", "Highest annotation risk accepted: Low, Medium, High or Critical. An Ingress with a riskier annotation is not served.", func(c *Config, v string) error {
		if annotations.RiskRank(v) == 0 {
			return fmt.Errorf("expected Low, Medium, High or Critical")
		}
		c.AnnotationsRiskLevel = v
		return nil
	}},
	{"block-cidrs", "", "Comma-separated CIDRs answered 403 on every host.", cidrs(func(c *Config) *[]netip.Prefix { return &c.BlockCIDRs })},
	{"block-referers", "", "Comma-separated Referer values answered 403: exact strings, or nginx regexes starting with ~ (~* case-insensitive).", func(c *Config, v string) error {
		c.BlockReferers = nginx.SplitList(v)
		for _, r := range c.BlockReferers {
			if err := ValidStringMatch(r); err != nil {
				return err
			}
		}
		return nil
	}},
	{"block-user-agents", "", "Comma-separated User-Agent values answered 403: exact strings, or nginx regexes starting with ~ (~* case-insensitive).", func(c *Config, v string) error {
		c.BlockUserAgents = nginx.SplitList(v)
		for _, ua := range c.BlockUserAgents {
			if err := ValidStringMatch(ua); err != nil {
				return err
			}
		}
		return nil
	}},
	{"brotli-level", "4", "Brotli quality (0-11) with enable-brotli.", intRange(0, 11, func(c *Config) *int { return &c.Compression.BrotliLevel })},
	{"brotli-min-length", "20", "Responses whose Content-Length is smaller (in bytes) are not compressed with brotli; responses of unknown length are.", byteCount(func(c *Config) *int64 { return &c.Compression.BrotliMinLength })},
	{"brotli-types", defaultBrotliTypes, "Space-separated media types compressed with brotli, on top of text/html; * alone compresses every type. A malformed type keeps the default list.", mimeTypes(func(c *Config) *compression.Types { return &c.Compression.BrotliTypes })},
	{"client-body-buffer-size", "8k", "Default of the client-body-buffer-size annotation: request bodies up to this size are read whole before the upstream is contacted (with proxy-request-buffering on). moat holds at most 1m.", func(c *Config, v string) error {
		n, err := nginx.ParseSize(v)
		if err != nil {
			return err
		}
		if n > MaxBodyBuffer {
			c.ClientBodyBufferSize = MaxBodyBuffer
			return capped{"moat holds at most 1m of a request body in memory; 1m is used"}
		}
		c.ClientBodyBufferSize = n
		return nil
	}},
	{"client-body-timeout", "60", "Seconds moat waits between two reads of a request body; a client that stalls longer gets 408 and its connection is closed.", atLeastOneSecond(func(c *Config) *time.Duration { return &c.ClientBodyTimeout })},
	{"client-header-buffer-size", "1k", noEffect + "nginx's first buffer for a request head; a larger head moves to large-client-header-buffers, which nothing a client sees depends on. Checked as an nginx size.", func(c *Config, v string) error {
		_, err := nginx.ParseSize(v)
		return err
	}},
	{"client-header-timeout", "60", "Seconds a client has to send a request's header (and, on HTTPS, to complete the TLS handshake); a slower one gets its connection closed.", atLeastOneSecond(func(c *Config) *time.Duration { return &c.ClientHeaderTimeout })},
	{"compute-full-forwarded-for", "false", "Append the peer address to the incoming X-Forwarded-For instead of replacing it (with use-forwarded-headers).", boolean(func(c *Config) *bool { return &c.ComputeFullForwardedFor })},
	{"custom-http-errors", "", "Comma-separated upstream status codes (300-599) answered by the default backend on every location.", func(c *Config, v string) error {
		codes, err := nginx.StatusCodes(v, 300, 599)
		c.CustomHTTPErrors = codes
		if err == nil && slices.ContainsFunc(codes, func(c int) bool { return c < 400 }) {
			return note{RedirectCodesNote}
		}
		return err
	}},
	{"denylist-source-range", "", "Comma-separated CIDRs denied (403) on every location without its own denylist-source-range.", cidrs(func(c *Config) *[]netip.Prefix { return &c.DenylistSourceRange })},
	{"disable-access-log", "false", "Write no access log line for any request (nginx access_log off).", boolean(func(c *Config) *bool { return &c.DisableAccessLog })},
	{"disable-proxy-intercept-errors", "false", "true: upstream answers listed in the ConfigMap's custom-http-errors pass through (moat's own 502, 503, 504 are still replaced); locations whose Ingress sets custom-http-errors keep intercepting unless it sets disable-proxy-intercept-errors too.", boolean(func(c *Config) *bool { return &c.DisableProxyInterceptErrors })},
	{"enable-access-log-for-default-backend", "false", "Log the requests of the default server: a host no Ingress names, or a path of the catch-all host that no Ingress path matches (off: no access log line for them, as ingress-nginx).", boolean(func(c *Config) *bool { return &c.EnableAccessLogForDefaultBackend })},
	{"enable-brotli", "false", "Compress responses with brotli (Content-Encoding: br) for clients that accept it; preferred over gzip when both are on and accepted, as ingress-nginx's brotli module. Only 200, 403 and 404 answers without a Content-Encoding are compressed; see docs/compression.md.", boolean(func(c *Config) *bool { return &c.Compression.Brotli })},
	{"enable-modsecurity", "false", "Run the web application firewall (Coraza, ModSecurity's rule language) on every location, with modsecurity-snippet or else the default ModSecurity configuration (SecRuleEngine DetectionOnly: rules log, nothing is blocked); an Ingress's enable-modsecurity: \"false\" turns it off there.", boolean(func(c *Config) *bool { return &c.EnableModsecurity })},
	keyEnableOpentelemetry,
	{"enable-owasp-modsecurity-crs", "false", "With enable-modsecurity, add the OWASP Core Rule Set (v4.25.0, embedded) to every location's WAF.", boolean(func(c *Config) *bool { return &c.EnableOWASPCoreRules })},
	{"enable-real-ip", "false", "Take the client address from forwarded-for-header when the peer is in proxy-real-ip-cidr (nginx's realip module), without trusting X-Forwarded-Proto, -Host and -Port as use-forwarded-headers does.", boolean(func(c *Config) *bool { return &c.EnableRealIP })},
	{"enable-serial-reloads", "false", noEffect + "serialises nginx reloads; moat never reloads, every change is applied by an atomic swap.", boolean(func(*Config) *bool { return new(bool) })},
	{"enable-underscores-in-headers", "false", "Pass request headers whose name has an underscore; off (with ignore-invalid-headers) drops them before anything reads them, as nginx.", boolean(func(c *Config) *bool { return &c.EnableUnderscoresInHeaders })},
	{"force-ssl-redirect", "false", "Default of the force-ssl-redirect annotation.", boolean(func(c *Config) *bool { return &c.ForceSSLRedirect })},
	{"forwarded-for-header", "X-Forwarded-For", "Header that carries the client address when use-forwarded-headers is true.", func(c *Config, v string) error {
		if !nginx.ValidHeaderName(v) {
			return fmt.Errorf("not a header name")
		}
		c.ForwardedForHeader = v
		return nil
	}},
	{"forwarded-for-proxy-protocol-header", "X-Forwarded-For-Proxy-Protocol", noEffect + "names an internal header of ingress-nginx's template that carries the PROXY address to its real_ip step; moat passes the address without a header (use-proxy-protocol). Checked as a header name.", func(c *Config, v string) error {
		if !nginx.ValidHeaderName(v) {
			return fmt.Errorf("not a header name")
		}
		return nil
	}},
	{"generate-request-id", "true", "Give a request without an X-Request-ID one (32 hex digits); off: only the client's X-Request-ID is passed on and logged.", boolean(func(c *Config) *bool { return &c.GenerateRequestID })},
	{"global-allowed-response-headers", "", "Comma-separated response headers that the custom-headers annotation may set.", func(c *Config, v string) error {
		c.GlobalAllowedResponseHeaders = nginx.SplitList(v)
		return nil
	}},
	{"global-auth-always-set-cookie", "false", "auth-always-set-cookie for global-auth-url.", boolean(func(c *Config) *bool { return &c.GlobalAuth.AlwaysSetCookie })},
	{"global-auth-cache-duration", "200 202 401 5m", "auth-cache-duration for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.CacheDuration = v; return nil }},
	{"global-auth-cache-key", "", "auth-cache-key for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.CacheKey = v; return nil }},
	{"global-auth-method", "", "auth-method for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.Method = v; return nil }},
	{"global-auth-request-redirect", "", "auth-request-redirect for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.RequestRedirect = v; return nil }},
	{"global-auth-response-headers", "", "auth-response-headers for global-auth-url.", func(c *Config, v string) error {
		c.GlobalAuth.ResponseHeaders = nginx.SplitList(v)
		return nil
	}},
	{"global-auth-signin", "", "auth-signin for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.Signin = v; return nil }},
	{"global-auth-signin-redirect-param", "rd", "auth-signin-redirect-param for global-auth-url.", func(c *Config, v string) error { c.GlobalAuth.SigninRedirectParam = v; return nil }},
	{"global-auth-url", "", "External authentication URL applied to every location (see auth-url); an Ingress opts out with enable-global-auth: \"false\".", func(c *Config, v string) error { c.GlobalAuth.URL = v; return nil }},
	{"gzip-disable", "", "Requests whose User-Agent matches this case-insensitive regular expression never get gzip (nginx gzip_disable; msie6 is its special value).", gzipDisable},
	{"gzip-level", "1", "gzip compression level (1-9) with use-gzip.", intRange(1, 9, func(c *Config) *int { return &c.Compression.GzipLevel })},
	{"gzip-min-length", "256", "Responses whose Content-Length is smaller (in bytes) are not gzipped; responses of unknown length are.", byteCount(func(c *Config) *int64 { return &c.Compression.GzipMinLength })},
	{"gzip-types", defaultGzipTypes, "Space-separated media types gzipped, on top of text/html; * alone gzips every type. A malformed type keeps the default list.", mimeTypes(func(c *Config) *compression.Types { return &c.Compression.GzipTypes })},
	{"hide-headers", "", "Comma-separated upstream response headers not passed to clients (nginx proxy_hide_header).", func(c *Config, v string) error {
		c.HideHeaders = nginx.SplitList(v)
		for _, h := range c.HideHeaders {
			if !nginx.ValidHeaderName(h) {
				return fmt.Errorf("%q is not a header name", h)
			}
		}
		return nil
	}},
	{"hsts", "true", "Send Strict-Transport-Security on HTTPS responses.", boolean(func(c *Config) *bool { return &c.HSTS })},
	{"hsts-include-subdomains", "true", "Add includeSubDomains to the HSTS header.", boolean(func(c *Config) *bool { return &c.HSTSIncludeSubdomains })},
	{"hsts-max-age", "31536000", "HSTS max-age in seconds.", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a number of seconds")
		}
		c.HSTSMaxAge = n
		return nil
	}},
	{"hsts-preload", "false", "Add preload to the HSTS header.", boolean(func(c *Config) *bool { return &c.HSTSPreload })},
	{"http-redirect-code", "308", "Status of HTTP to HTTPS and www redirects: 301, 302, 307 or 308.", func(c *Config, v string) error {
		switch v {
		case "301", "302", "307", "308":
			c.HTTPRedirectCode, _ = strconv.Atoi(v)
			return nil
		}
		return fmt.Errorf("expected 301, 302, 307 or 308")
	}},
	{"http2-max-concurrent-streams", "128", "Streams one HTTP/2 client connection may have open at once; more are refused (REFUSED_STREAM).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("expected a whole number, at least 1")
		}
		c.HTTP2MaxConcurrentStreams = n
		return nil
	}},
	{"http2-max-field-size", "", noEffect + "deprecated in ingress-nginx and obsolete in the nginx it ships (large-client-header-buffers bounds header fields there). Checked as an nginx size.", optionalSize},
	{"http2-max-header-size", "", noEffect + "deprecated in ingress-nginx and obsolete in the nginx it ships (large-client-header-buffers bounds the header list there). Checked as an nginx size.", optionalSize},
	{"http2-max-requests", "0", noEffect + "deprecated in ingress-nginx and obsolete in the nginx it ships; keep-alive-requests bounds requests per connection, HTTP/2 included, in both.", nonNegative},
	{"ignore-invalid-headers", "true", "Drop request headers with invalid names (with enable-underscores-in-headers off, names with an underscore) instead of passing them; header names that are not HTTP tokens get 400 either way (moat's request parser refuses them).", boolean(func(c *Config) *bool { return &c.IgnoreInvalidHeaders })},
	{"keep-alive", "75", "Seconds an idle keep-alive client connection is kept open; 0 turns keep-alive off.", seconds(func(c *Config) *time.Duration { return &c.KeepAlive })},
	{"keep-alive-requests", "1000", "Requests served on one client connection (HTTP/1.1 or HTTP/2) before moat closes it; 0: no limit.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a whole number")
		}
		c.KeepAliveRequests = n
		return nil
	}},
	{"large-client-header-buffers", "4 8k", "NUMBER SIZE of nginx's buffers for a request head: a request line longer than SIZE gets 414, a header line longer than SIZE or a head longer than NUMBER × SIZE gets 400, and the connection closes.", headerBuffers},
	{"limit-conn-status-code", "503", "Status of requests refused by limit-connections.", statusCode(func(c *Config) *int { return &c.LimitConnStatusCode })},
	{"limit-rate", "0", "Default of the limit-rate annotation: each response is sent to the client at most this many KiB per second (0: unlimited).", nonNegativeInt(func(c *Config) *int { return &c.LimitRate })},
	{"limit-rate-after", "0", "Default of the limit-rate-after annotation: KiB of each response sent at full speed before limit-rate applies.", nonNegativeInt(func(c *Config) *int { return &c.LimitRateAfter })},
	{"limit-req-status-code", "503", "Status of requests refused by limit-rps and limit-rpm.", statusCode(func(c *Config) *int { return &c.LimitReqStatusCode })},
	{"load-balance", "round_robin", "Default of the load-balance annotation: round_robin or ewma.", func(c *Config, v string) error {
		switch v {
		case "round_robin":
			c.LoadBalance = routecfg.RoundRobin
		case "ewma":
			c.LoadBalance = routecfg.EWMA
		default:
			return fmt.Errorf("expected round_robin or ewma")
		}
		return nil
	}},
	{"log-format-escape-json", "false", "Escape access-log variables for JSON strings (nginx log_format escape=json); a missing value is then empty instead of \"-\".", boolean(func(c *Config) *bool { return &c.LogFormatEscapeJSON })},
	{"log-format-escape-none", "false", "Write access-log variables unescaped (nginx log_format escape=none); wins over log-format-escape-json, as in ingress-nginx.", boolean(func(c *Config) *bool { return &c.LogFormatEscapeNone })},
	{"log-format-upstream", logformat.Default, "The access-log line, nginx log_format syntax with the variables listed in docs/monitoring.md; compiled once per configuration. An unknown variable keeps the default format.", func(c *Config, v string) error {
		if _, err := logformat.Parse(v, logformat.EscapeDefault); err != nil {
			return err
		}
		c.LogFormatUpstream = v
		return nil
	}},
	{"map-hash-bucket-size", "64", noEffect + "sizes nginx's map hash tables; moat's lookups are not fixed-size tables. Checked as a positive number.", positive},
	{"max-worker-connections", "16384", "Open client connections moat accepts over its HTTP and HTTPS listeners together (nginx counts it per worker process; moat is one process). Beyond it a new HTTP connection gets 503 and a new HTTPS one is closed before the handshake, counted in moat_client_connections_refused_total. 0: three quarters of the open-file limit less 1024, as ingress-nginx.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a whole number")
		}
		c.MaxWorkerConnections = n
		if n > 0 {
			return note{fmt.Sprintf("moat allows %d client connections in all; ingress-nginx allows that many per worker process (one per CPU by default)", n)}
		}
		return nil
	}},
	{"modsecurity-snippet", "", "With enable-modsecurity, SecLang rules for every location, in place of the default configuration; run by Coraza, never templated. Directives that reach files, programs or the network are refused (see modsecurity-snippet in docs/annotations.md): a refused or broken snippet makes every WAF location answer 503 until fixed.", func(c *Config, v string) error {
		c.ModsecuritySnippet = v
		return nil
	}},
	{"no-auth-locations", "/.well-known/acme-challenge", "Comma-separated path prefixes: an Ingress path that starts with one gets no authentication (auth-url, global-auth-url, basic auth), so ACME HTTP-01 challenges pass; the path of the Ingress, not of the request, as ingress-nginx.", func(c *Config, v string) error {
		c.NoAuthLocations = nginx.SplitList(v)
		for _, p := range c.NoAuthLocations {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%q does not start with /", p)
			}
		}
		return nil
	}},
	{"no-tls-redirect-locations", "/.well-known/acme-challenge", "Comma-separated path prefixes: an Ingress path that starts with one is never redirected to HTTPS (the path of the Ingress, not of the request, as ingress-nginx).", func(c *Config, v string) error {
		c.NoTLSRedirectLocations = nginx.SplitList(v)
		for _, p := range c.NoTLSRedirectLocations {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%q does not start with /", p)
			}
		}
		return nil
	}},
	keyOperationName,
	keyTrustIncomingSpan,
	keyMaxExportBatchSize,
	keyMaxQueueSize,
	keySampler,
	keySamplerParentBased,
	keySamplerRatio,
	keyScheduleDelay,
	keyServiceName,
	keyCollectorHost,
	keyCollectorPort,
	{"proxy-add-original-uri-header", "false", "Send the request URI as sent by the client to the upstream in X-Original-URI.", boolean(func(c *Config) *bool { return &c.ProxyAddOriginalURIHeader })},
	{"proxy-body-size", "1m", "Default request body limit (nginx size; 0 is unlimited); larger bodies get 413.", func(c *Config, v string) error {
		n, err := nginx.ParseSize(v)
		if err != nil {
			return err
		}
		c.ProxyBodySize, c.ProxyBodySizeRaw = n, v
		return nil
	}},
	{"proxy-buffer-size", "4k", "Default of the proxy-buffer-size annotation (nginx size): larger upstream response heads get 502. moat reads heads of at most 1m.", func(c *Config, v string) error {
		n, err := nginx.ParseSize(v)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("nginx needs room for the response head")
		}
		if n > MaxResponseHeader {
			c.ProxyBufferSize = MaxResponseHeader
			return capped{"moat reads upstream response heads of at most 1m; 1m is used"}
		}
		c.ProxyBufferSize = n
		return nil
	}},
	{"proxy-buffering", "off", "Default of the proxy-buffering annotation: on or off.", onOff(func(c *Config) *bool { return &c.ProxyBuffering })},
	{"proxy-buffers-number", "4", "Default of the proxy-buffers-number annotation.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("expected a number from 1 to 1024")
		}
		c.ProxyBuffersNumber = int64(n)
		return nil
	}},
	{"proxy-connect-timeout", "5", "Default upstream connect timeout in seconds.", seconds(func(c *Config) *time.Duration { return &c.ProxyConnectTimeout })},
	{"proxy-cookie-domain", "off", "Default of the proxy-cookie-domain annotation: \"off\" or \"FROM TO\", the Domain of upstream Set-Cookie headers rewritten (FROM may be a ~regex).", func(c *Config, v string) error {
		t, err := proxyrewrite.ParseCookieDefault(v, true)
		c.ProxyCookieDomain = t
		return err
	}},
	{"proxy-cookie-path", "off", "Default of the proxy-cookie-path annotation: \"off\" or \"FROM TO\", the Path of upstream Set-Cookie headers rewritten (FROM may be a ~regex).", func(c *Config, v string) error {
		t, err := proxyrewrite.ParseCookieDefault(v, false)
		c.ProxyCookiePath = t
		return err
	}},
	{"proxy-headers-hash-bucket-size", "64", noEffect + "sizes nginx's proxy header hash table. Checked as a positive number.", positive},
	{"proxy-headers-hash-max-size", "512", noEffect + "sizes nginx's proxy header hash table. Checked as a positive number.", positive},
	{"proxy-max-temp-file-size", "1024m", "Default of the proxy-max-temp-file-size annotation (nginx size; 0: no temporary file).", func(c *Config, v string) error {
		n, err := nginx.ParseSize(v)
		if err != nil {
			return err
		}
		c.ProxyMaxTempFileSize = n
		return nil
	}},
	{"proxy-next-upstream", "error timeout", "Default of the proxy-next-upstream annotation: when another endpoint is tried.", func(c *Config, v string) error {
		n, ok := timeouts.ParseNextUpstream(v)
		if !ok {
			return fmt.Errorf("expected space-separated conditions from error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, or off")
		}
		c.ProxyNextUpstream = n
		return nil
	}},
	{"proxy-next-upstream-timeout", "0", "Default of the proxy-next-upstream-timeout annotation, in seconds (0: unlimited).", seconds(func(c *Config) *time.Duration { return &c.ProxyNextUpstreamTimeout })},
	{"proxy-next-upstream-tries", "3", "Default of the proxy-next-upstream-tries annotation: attempts in all (0: one per endpoint).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("expected a number from 0 to 100")
		}
		c.ProxyNextUpstreamTries = n
		return nil
	}},
	{"proxy-protocol-header-timeout", "5s", "How long a client connection may take to send its PROXY header when use-proxy-protocol is true (Go duration, e.g. 5s or 500ms); it is closed after that and counted in moat_proxy_protocol_errors_total{reason=\"timeout\"}.", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("expected a positive Go duration such as 5s")
		}
		c.ProxyProtocolHeaderTimeout = d
		return nil
	}},
	{"proxy-read-timeout", "60", "Default upstream read timeout in seconds.", seconds(func(c *Config) *time.Duration { return &c.ProxyReadTimeout })},
	{"proxy-real-ip-cidr", "0.0.0.0/0", "Comma-separated CIDRs of proxies whose forwarded headers are trusted (with use-forwarded-headers).", cidrs(func(c *Config) *[]netip.Prefix { return &c.ProxyRealIPCIDR })},
	{"proxy-request-buffering", "on", "Default of the proxy-request-buffering annotation: on or off.", onOff(func(c *Config) *bool { return &c.ProxyRequestBuffering })},
	{"proxy-send-timeout", "60", "Default upstream send timeout in seconds.", seconds(func(c *Config) *time.Duration { return &c.ProxySendTimeout })},
	{"proxy-set-headers", "", "NAMESPACE/NAME of a ConfigMap whose entries (header: value) are set on every request sent upstream, after the X-Forwarded-* headers (nginx proxy_set_header; an empty value removes the header); values may use the variables " + templateVarList() + "; any other $variable refuses the entry (GlobalHeaderInvalid), as does a header that frames the message or Host.", configMapRef(func(c *Config) *string { return &c.ProxySetHeaders })},
	{"proxy-stream-next-upstream", "true", "TCP and UDP services: try another endpoint when connecting to one fails.", boolean(func(c *Config) *bool { return &c.Stream.NextUpstream })},
	{"proxy-stream-next-upstream-timeout", "600s", "TCP and UDP services: how long the attempts at one connection may take in all (nginx time; 0: no limit).", func(c *Config, v string) error {
		d, err := nginx.ParseTime(v)
		c.Stream.NextUpstreamTimeout = d
		return err
	}},
	{"proxy-stream-next-upstream-tries", "3", "TCP and UDP services: attempts at one connection in all (0: no limit).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("expected a number from 0 to 100")
		}
		c.Stream.NextUpstreamTries = n
		return nil
	}},
	{"proxy-stream-responses", "1", "UDP services: datagrams expected from the upstream per client datagram; once they came, the session ends and the next datagram starts one (to another endpoint, round robin).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("expected a whole number")
		}
		c.Stream.Responses = n
		return nil
	}},
	{"proxy-stream-timeout", "600s", "TCP and UDP services: a connection or UDP session without data in either direction for this long is closed (nginx time).", func(c *Config, v string) error {
		d, err := nginx.ParseTime(v)
		if err == nil && d <= 0 {
			err = fmt.Errorf("expected a time above 0")
		}
		if err != nil {
			return err
		}
		c.Stream.Timeout = d
		return nil
	}},
	{"retry-non-idempotent", "false", "Also retry POST, LOCK and PATCH on another endpoint (adds non_idempotent to every location's proxy-next-upstream).", boolean(func(c *Config) *bool { return &c.RetryNonIdempotent })},
	{"server-name-hash-bucket-size", "64", noEffect + "sizes nginx's server-name hash table; moat's host lookup has no fixed size. Checked as a positive number.", positive},
	{"server-name-hash-max-size", "1024", noEffect + "sizes nginx's server-name hash table; moat's host lookup has no fixed size. Checked as a positive number.", positive},
	{"server-tokens", "false", "Add moat's version to the Server header (moat/VERSION); off sends Server: moat. Unlike ingress-nginx, which sends none when off, every response carries one.", boolean(func(c *Config) *bool { return &c.ServerTokens })},
	{"skip-access-log-urls", "", "Comma-separated request URIs (path and query as sent, exact, or nginx regexes starting with ~) whose requests get no access log line.", func(c *Config, v string) error {
		c.SkipAccessLogURLs = nginx.SplitList(v)
		for _, u := range c.SkipAccessLogURLs {
			if err := ValidStringMatch(u); err != nil {
				return err
			}
		}
		return nil
	}},
	{"ssl-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", "TLS 1.2 cipher suites in OpenSSL names; suites Go does not implement (DHE) are skipped.", func(c *Config, v string) error {
		suites, err := cipherSuites(v)
		if err != nil {
			return err
		}
		c.SSLCiphers, c.SSLCipherSuites = v, suites
		return nil
	}},
	{"ssl-protocols", "TLSv1.2 TLSv1.3", "Space-separated TLS versions offered: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3.", func(c *Config, v string) error {
		lo, hi, unsupported, err := nginx.ParseProtocols(v)
		if err == nil && len(unsupported) > 0 {
			err = fmt.Errorf("%q is not a protocol moat offers (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)", unsupported[0])
		}
		if err != nil {
			return err
		}
		c.SSLProtocols, c.TLSMinVersion, c.TLSMaxVersion = v, lo, hi
		return nil
	}},
	{"ssl-redirect", "true", "Default of the ssl-redirect annotation.", boolean(func(c *Config) *bool { return &c.SSLRedirect })},
	{"ssl-reject-handshake", "false", "Refuse TLS handshakes that name no host of any served Ingress, or no host at all, instead of answering with the default certificate (nginx ssl_reject_handshake in the default server). nginx sends the unrecognized_name alert, Go's TLS internal_error; either way the handshake fails.", boolean(func(c *Config) *bool { return &c.SSLRejectHandshake })},
	{"ssl-session-cache", "true", "Resume TLS sessions.", boolean(func(c *Config) *bool { return &c.SSLSessionCache })},
	{"ssl-session-cache-size", "10m", "Size of the TLS session cache (nginx size).", func(c *Config, v string) error {
		if _, err := nginx.ParseSize(v); err != nil {
			return err
		}
		c.SSLSessionCacheSize = v
		return nil
	}},
	{"ssl-session-tickets", "false", "Offer TLS session tickets.", boolean(func(c *Config) *bool { return &c.SSLSessionTickets })},
	{"ssl-session-timeout", "10m", "Lifetime of a resumable TLS session (nginx time: 10m, 1h, 30s).", func(c *Config, v string) error {
		d, err := nginx.ParseSecTime(v)
		c.SSLSessionTimeout = d
		return err
	}},
	{"use-forwarded-headers", "false", "Trust X-Forwarded-For, -Proto, -Host and -Port from peers in proxy-real-ip-cidr.", boolean(func(c *Config) *bool { return &c.UseForwardedHeaders })},
	{"use-gzip", "false", "Compress responses with gzip for HTTP/1.1 and HTTP/2 clients that accept it (nginx gzip_http_version 1.1, gzip_proxied any, gzip_vary on); see docs/compression.md.", boolean(func(c *Config) *bool { return &c.Compression.Gzip })},
	{"use-http2", "true", "Offer HTTP/2 on the HTTPS listener.", boolean(func(c *Config) *bool { return &c.UseHTTP2 })},
	{"use-proxy-protocol", "false", "Every connection to the HTTP and HTTPS listeners (ssl-passthrough included) starts with a PROXY protocol header, v1 or v2, from the load balancer; its source address is the client's (when the load balancer is in proxy-real-ip-cidr). A connection without a valid header is closed and counted in moat_proxy_protocol_errors_total. Applies to connections accepted after the change.", func(c *Config, v string) error {
		if err := boolean(func(c *Config) *bool { return &c.UseProxyProtocol })(c, v); err != nil {
			return err
		}
		// Keys are applied in name order, so use-forwarded-headers from
		// the same ConfigMap is already set here.
		if c.UseProxyProtocol && c.UseForwardedHeaders {
			return note{"with use-forwarded-headers too, a request whose PROXY address is in proxy-real-ip-cidr but that carries no X-Forwarded-For gets the PROXY address as client address; ingress-nginx then takes the load balancer's"}
		}
		return nil
	}},
	{"variables-hash-bucket-size", "256", noEffect + "sizes nginx's variables hash table; moat has no variables table. Checked as a positive number.", positive},
	{"variables-hash-max-size", "2048", noEffect + "sizes nginx's variables hash table; moat has no variables table. Checked as a positive number.", positive},
	{"whitelist-source-range", "", "Comma-separated CIDRs allowed on every location without its own allowlist-source-range; others get 403.", cidrs(func(c *Config) *[]netip.Prefix { return &c.WhitelistSourceRange })},
	{"worker-shutdown-timeout", "240s", "How long the drain on shutdown waits for requests, streams and WebSockets in flight (nginx time, e.g. 240s or 4m; 0: no limit, as nginx) before closing them; keep the pod's terminationGracePeriodSeconds above --shutdown-grace-period plus this.", func(c *Config, v string) error {
		d, err := nginx.ParseTime(v)
		if err != nil {
			return err
		}
		c.WorkerShutdownTimeout = d
		return nil
	}},
}

// Default returns ingress-nginx's defaults.
func Default() Config {
	var c Config
	for _, k := range allKeys() {
		if err := k.set(&c, k.Default); err != nil && !errors.As(err, new(note)) {
			panic("controllerconfig: bad default for " + k.Name + ": " + err.Error())
		}
	}
	c.compileLogFormat()
	return c
}

// compileLogFormat compiles LogFormatUpstream (already validated by its
// key) with the escaping the two escape keys chose.
func (c *Config) compileLogFormat() {
	esc := logformat.EscapeDefault
	switch {
	case c.LogFormatEscapeNone:
		esc = logformat.EscapeNone
	case c.LogFormatEscapeJSON:
		esc = logformat.EscapeJSON
	}
	f, err := logformat.Parse(c.LogFormatUpstream, esc)
	if err != nil {
		f, _ = logformat.Parse(logformat.Default, esc)
	}
	c.LogFormat = f
}

// Parse applies a ConfigMap's data over the defaults. A bad value keeps
// the default and is reported; an unknown key is reported.
func Parse(data map[string]string, obj diag.ObjectRef) (Config, []diag.Diagnostic) {
	c := Default()
	var out []diag.Diagnostic
	names := make([]string, 0, len(data))
	for k := range data {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := strings.TrimSpace(data[name])
		k, ok := lookup(name)
		if r, isRefused := lookupRefused(name); !ok && isRefused {
			out = append(out, refusedDiag(obj, name, v, r))
			continue
		}
		if !ok {
			d := diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "ConfigMapKeyUnknown", Field: "data." + name,
				Message: fmt.Sprintf("controller setting %q is not supported by moat and is ignored", name)}
			if s := closest(name); s != "" {
				d.Hint = "did you mean " + s + "?"
			}
			out = append(out, d)
			continue
		}
		if c.Settings == nil {
			c.Settings = map[string]string{}
		}
		c.Settings[name] = v
		if err := k.set(&c, v); err != nil {
			var nt note
			if errors.As(err, &nt) {
				out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Info, Reason: "ConfigMapValueDiffers", Field: "data." + name,
					Message: fmt.Sprintf("%s: %s", name, nt.why)})
				continue
			}
			var cp capped
			if errors.As(err, &cp) {
				out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "ConfigMapValueCapped", Field: "data." + name,
					Message: fmt.Sprintf("value %q for %s: %s", v, name, cp.why)})
				continue
			}
			_ = k.set(&c, k.Default)
			out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Error, Reason: "ConfigMapInvalidValue", Field: "data." + name,
				Message: fmt.Sprintf("invalid value %q for %s: %v; the default %q is used", v, name, err, k.Default)})
		}
	}
	c.compileLogFormat()
	out = append(out, compressionNotes(&c, obj)...)
	return c, out
}

func lookup(name string) (Key, bool) {
	ks := allKeys()
	i := sort.Search(len(ks), func(i int) bool { return ks[i].Name >= name })
	if i < len(ks) && ks[i].Name == name {
		return ks[i], true
	}
	return Key{}, false
}

func closest(name string) string {
	best, bestD := "", 3
	for _, k := range allKeys() {
		if d := annotations.EditDistance(name, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

func boolean(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := nginx.ParseBool(v)
		if err != nil {
			return fmt.Errorf("expected true or false")
		}
		*f(c) = b
		return nil
	}
}

// MaxResponseHeader is the largest upstream response head moat reads.
const MaxResponseHeader = 1 << 20

// MaxBodyBuffer bounds the memory one request may hold for its body
// (client-body-buffer-size).
const MaxBodyBuffer = 1 << 20

// capped is a value moat applies only up to a bound: reported as a
// warning, with the bound in effect.
type capped struct{ why string }

func (c capped) Error() string { return c.why }

// note is a value applied as written whose meaning in moat differs from
// ingress-nginx's: reported as advice.
type note struct{ why string }

// RedirectCodesNote is said of custom-http-errors listing codes below 400.
const RedirectCodesNote = "codes below 400 replace upstream answers only: moat's own redirects (ssl-redirect, permanent-redirect, app-root, ...) keep their answer, where nginx's error_page would replace them too"

func (n note) Error() string { return n.why }

func onOff(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v {
		case "on":
			*f(c) = true
		case "off":
			*f(c) = false
		default:
			return fmt.Errorf("expected on or off")
		}
		return nil
	}
}

func statusCode(f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 400 || n > 599 {
			return fmt.Errorf("expected a status code from 400 to 599")
		}
		*f(c) = n
		return nil
	}
}

func seconds(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := nginx.ParseSeconds(v)
		if err != nil {
			return fmt.Errorf("expected a whole number of seconds")
		}
		*f(c) = d
		return nil
	}
}

// atLeastOneSecond is seconds for timeouts where 0 would end every
// connection at once.
func atLeastOneSecond(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := nginx.ParseSeconds(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("expected a whole number of seconds, at least 1")
		}
		*f(c) = d
		return nil
	}
}

func cidrs(f func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		p, err := nginx.ParseCIDRs(v)
		if err != nil {
			return err
		}
		*f(c) = p
		return nil
	}
}

// cipherSuites maps an OpenSSL cipher list to Go suites with the listener's
// own parser (tlspolicy), so the ConfigMap and the listener agree on every
// name; a list with no usable suite is an error.
func cipherSuites(v string) ([]uint16, error) {
	suites, _ := tlspolicy.ParseCiphers(v)
	if len(suites) == 0 {
		return nil, fmt.Errorf("no cipher suite that Go implements")
	}
	return suites, nil
}

// ValidStringMatch checks an nginx map source value: "~re" or "~*re" is a
// regular expression, anything else an exact (case-insensitive) string.
// The grammar is global.NewStringMatch's, which the data plane compiles.
func ValidStringMatch(v string) error {
	if _, err := global.NewStringMatch(v); err != nil {
		return fmt.Errorf("%q is not a valid regular expression: %v", v, err)
	}
	return nil
}
