package annotations

// Risk levels of ingress-nginx's annotation registry, lowest first. The
// controller ConfigMap's annotations-risk-level refuses every annotation
// above it (default High, so Critical ones are refused).
const (
	RiskLow      = "Low"
	RiskMedium   = "Medium"
	RiskHigh     = "High"
	RiskCritical = "Critical"
)

// RiskRank orders risk levels; 0 for an unknown level.
func RiskRank(risk string) int {
	switch risk {
	case RiskLow:
		return 1
	case RiskMedium:
		return 2
	case RiskHigh:
		return 3
	case RiskCritical:
		return 4
	}
	return 0
}

// Entry is one key of ingress-nginx's annotation registry.
type Entry struct {
	// Group is ingress-nginx's parser name (annotations-risk.md).
	Group string
	Name  string
	Risk  string
	Scope Scope
	// Tier is 1 or 2 for the keys users rely on most, 0 otherwise.
	Tier int
}

// Aliases maps a second name to the key it stands for; ingress-nginx
// reads the key first and the alias when the key is unset.
var Aliases = map[string]string{
	"whitelist-source-range": "allowlist-source-range",
	"limit-whitelist":        "limit-allowlist",
}

// Catalogue is ingress-nginx's registry of annotations (v1.15.1,
// docs/user-guide/nginx-configuration/annotations-risk.md, 136 keys),
// sorted by name. Every key must appear in some family's table: the
// registry test checks it, and docs/annotations.md lists them all.
var Catalogue = []Entry{
	{Group: "SessionAffinity", Name: "affinity", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "SessionAffinity", Name: "affinity-canary-behavior", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "affinity-mode", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "Allowlist", Name: "allowlist-source-range", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "Rewrite", Name: "app-root", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "ExternalAuth", Name: "auth-always-set-cookie", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-cache-duration", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-cache-key", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-keepalive", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-keepalive-requests", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-keepalive-share-vars", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-keepalive-timeout", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-method", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-proxy-set-headers", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "BasicDigestAuth", Name: "auth-realm", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "ExternalAuth", Name: "auth-request-redirect", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-response-headers", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "BasicDigestAuth", Name: "auth-secret", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "BasicDigestAuth", Name: "auth-secret-type", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-signin", Risk: RiskHigh, Scope: ScopeLocation, Tier: 1},
	{Group: "ExternalAuth", Name: "auth-signin-redirect-param", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "ExternalAuth", Name: "auth-snippet", Risk: RiskCritical, Scope: ScopeLocation, Tier: 0},
	{Group: "CertificateAuth", Name: "auth-tls-error-page", Risk: RiskHigh, Scope: ScopeLocation, Tier: 0},
	{Group: "CertificateAuth", Name: "auth-tls-match-cn", Risk: RiskHigh, Scope: ScopeLocation, Tier: 0},
	{Group: "CertificateAuth", Name: "auth-tls-pass-certificate-to-upstream", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "CertificateAuth", Name: "auth-tls-secret", Risk: RiskMedium, Scope: ScopeLocation, Tier: 2},
	{Group: "CertificateAuth", Name: "auth-tls-verify-client", Risk: RiskMedium, Scope: ScopeLocation, Tier: 2},
	{Group: "CertificateAuth", Name: "auth-tls-verify-depth", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "BasicDigestAuth", Name: "auth-type", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "ExternalAuth", Name: "auth-url", Risk: RiskHigh, Scope: ScopeLocation, Tier: 1},
	{Group: "BackendProtocol", Name: "backend-protocol", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "Canary", Name: "canary", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "Canary", Name: "canary-by-cookie", Risk: RiskMedium, Scope: ScopeIngress, Tier: 2},
	{Group: "Canary", Name: "canary-by-header", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "Canary", Name: "canary-by-header-pattern", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "Canary", Name: "canary-by-header-value", Risk: RiskMedium, Scope: ScopeIngress, Tier: 2},
	{Group: "Canary", Name: "canary-weight", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "Canary", Name: "canary-weight-total", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "ClientBodyBufferSize", Name: "client-body-buffer-size", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "ConfigurationSnippet", Name: "configuration-snippet", Risk: RiskCritical, Scope: ScopeLocation, Tier: 1},
	{Group: "Connection", Name: "connection-proxy-header", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "CorsConfig", Name: "cors-allow-credentials", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "CorsConfig", Name: "cors-allow-headers", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "CorsConfig", Name: "cors-allow-methods", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "CorsConfig", Name: "cors-allow-origin", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "CorsConfig", Name: "cors-expose-headers", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "CorsConfig", Name: "cors-max-age", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "CustomHeaders", Name: "custom-headers", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "CustomHTTPErrors", Name: "custom-http-errors", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "DefaultBackend", Name: "default-backend", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "Denylist", Name: "denylist-source-range", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "DisableProxyInterceptErrors", Name: "disable-proxy-intercept-errors", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Logs", Name: "enable-access-log", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "CorsConfig", Name: "enable-cors", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "EnableGlobalAuth", Name: "enable-global-auth", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ModSecurity", Name: "enable-modsecurity", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "Opentelemetry", Name: "enable-opentelemetry", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "ModSecurity", Name: "enable-owasp-core-rules", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "Logs", Name: "enable-rewrite-log", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "FastCGI", Name: "fastcgi-index", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "FastCGI", Name: "fastcgi-params-configmap", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Rewrite", Name: "force-ssl-redirect", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "Redirect", Name: "from-to-www-redirect", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "HTTP2PushPreload", Name: "http2-push-preload", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-allowlist", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-burst-multiplier", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-connections", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "RateLimit", Name: "limit-rate", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-rate-after", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-rpm", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "RateLimit", Name: "limit-rps", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "LoadBalancing", Name: "load-balance", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Mirror", Name: "mirror-host", Risk: RiskHigh, Scope: ScopeIngress, Tier: 0},
	{Group: "Mirror", Name: "mirror-request-body", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "Mirror", Name: "mirror-target", Risk: RiskHigh, Scope: ScopeIngress, Tier: 0},
	{Group: "ModSecurity", Name: "modsecurity-snippet", Risk: RiskCritical, Scope: ScopeIngress, Tier: 0},
	{Group: "ModSecurity", Name: "modsecurity-transaction-id", Risk: RiskHigh, Scope: ScopeIngress, Tier: 0},
	{Group: "Opentelemetry", Name: "opentelemetry-operation-name", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Opentelemetry", Name: "opentelemetry-trust-incoming-span", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Redirect", Name: "permanent-redirect", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "Redirect", Name: "permanent-redirect-code", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Rewrite", Name: "preserve-trailing-slash", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-body-size", Risk: RiskMedium, Scope: ScopeLocation, Tier: 1},
	{Group: "Proxy", Name: "proxy-buffer-size", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "Proxy", Name: "proxy-buffering", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "Proxy", Name: "proxy-buffers-number", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-connect-timeout", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "Proxy", Name: "proxy-cookie-domain", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-cookie-path", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-http-version", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "Proxy", Name: "proxy-max-temp-file-size", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-next-upstream", Risk: RiskMedium, Scope: ScopeLocation, Tier: 2},
	{Group: "Proxy", Name: "proxy-next-upstream-timeout", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-next-upstream-tries", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "Proxy", Name: "proxy-read-timeout", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "Proxy", Name: "proxy-redirect-from", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-redirect-to", Risk: RiskMedium, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-request-buffering", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Proxy", Name: "proxy-send-timeout", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "ProxySSL", Name: "proxy-ssl-ciphers", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-name", Risk: RiskHigh, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-protocols", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-secret", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-server-name", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-verify", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "ProxySSL", Name: "proxy-ssl-verify-depth", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "Redirect", Name: "relative-redirects", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Rewrite", Name: "rewrite-target", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "Satisfy", Name: "satisfy", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Aliases", Name: "server-alias", Risk: RiskHigh, Scope: ScopeIngress, Tier: 2},
	{Group: "ServerSnippet", Name: "server-snippet", Risk: RiskCritical, Scope: ScopeIngress, Tier: 1},
	{Group: "ServiceUpstream", Name: "service-upstream", Risk: RiskLow, Scope: ScopeIngress, Tier: 2},
	{Group: "SessionAffinity", Name: "session-cookie-change-on-failure", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-conditional-samesite-none", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-domain", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-expires", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "SessionAffinity", Name: "session-cookie-max-age", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "SessionAffinity", Name: "session-cookie-name", Risk: RiskMedium, Scope: ScopeIngress, Tier: 1},
	{Group: "SessionAffinity", Name: "session-cookie-partitioned", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-path", Risk: RiskMedium, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-samesite", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SessionAffinity", Name: "session-cookie-secure", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SSLCipher", Name: "ssl-ciphers", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "SSLPassthrough", Name: "ssl-passthrough", Risk: RiskLow, Scope: ScopeIngress, Tier: 1},
	{Group: "SSLCipher", Name: "ssl-prefer-server-ciphers", Risk: RiskLow, Scope: ScopeIngress, Tier: 0},
	{Group: "Rewrite", Name: "ssl-redirect", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "StreamSnippet", Name: "stream-snippet", Risk: RiskCritical, Scope: ScopeIngress, Tier: 0},
	{Group: "Redirect", Name: "temporal-redirect", Risk: RiskMedium, Scope: ScopeLocation, Tier: 2},
	{Group: "Redirect", Name: "temporal-redirect-code", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "UpstreamHashBy", Name: "upstream-hash-by", Risk: RiskHigh, Scope: ScopeLocation, Tier: 2},
	{Group: "UpstreamHashBy", Name: "upstream-hash-by-subset", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "UpstreamHashBy", Name: "upstream-hash-by-subset-size", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "UpstreamVhost", Name: "upstream-vhost", Risk: RiskLow, Scope: ScopeLocation, Tier: 2},
	{Group: "UsePortInRedirects", Name: "use-port-in-redirects", Risk: RiskLow, Scope: ScopeLocation, Tier: 0},
	{Group: "Rewrite", Name: "use-regex", Risk: RiskLow, Scope: ScopeLocation, Tier: 1},
	{Group: "XForwardedPrefix", Name: "x-forwarded-prefix", Risk: RiskMedium, Scope: ScopeLocation, Tier: 2},
}
