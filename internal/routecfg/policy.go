package routecfg

// RoutePolicy is the per-route behaviour that ingress-nginx annotations
// configure (CORS, auth, limits, canary, affinity, timeouts, ...). Each
// annotation family owns one pointer field, nil when the family is off, and
// declares its type in a file of its own in this package. All routes of one
// Ingress share one RoutePolicy value; like the rest of a Config it is never
// mutated after translate returns it. translate builds it in one place
// (extract.go routePolicy) and Dump shows every field.
type RoutePolicy struct {
	Redirect     *Redirect
	CORS         *CORS
	Access       *Access
	BasicAuth    *BasicAuth
	ExternalAuth *ExternalAuth
	Headers      *Headers
	ErrorPages   *ErrorPages
	Logging      *Logging
	// ProxyRewrite is proxy-redirect-*, proxy-cookie-domain and -path.
	ProxyRewrite *ProxyRewrite
	// Tracing is the opentelemetry annotations (tracing.go).
	Tracing *RouteTracing
	// WAF is enable-modsecurity and its companions (waf.go).
	WAF *WAF

	Canary   *Canary
	Affinity *Affinity
	Balance  *Balance
	Limits   *Limits
	Body     *Body
	Timeouts *Timeouts
}
