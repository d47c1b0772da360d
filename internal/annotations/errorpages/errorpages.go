// Package errorpages parses default-backend, custom-http-errors and
// disable-proxy-intercept-errors.
package errorpages

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "default-backend", Status: annotations.Supported,
		Doc: "Service (same namespace, first port) that serves the paths when their Service has no ready endpoints (with X-Code 503 and friends), and that answers this Ingress's own custom-http-errors; the ConfigMap's custom-http-errors go to --default-backend-service, as in ingress-nginx."},
	{Name: "custom-http-errors", Status: annotations.Supported,
		Doc: "Comma-separated codes (300-599), replacing the ConfigMap's for this Ingress: upstream answers and moat's own (502, 503, 504, ...) with such a code are replaced by the answer of the default-backend annotation's Service (else --default-backend-service's) for / (same method, query kept, no body) with X-Code, X-Format, X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port, X-Request-ID, and its status; without a default backend, 404 as ingress-nginx's built-in one. Empty: ignored, as in ingress-nginx."},
	{Name: "disable-proxy-intercept-errors", Status: annotations.Supported,
		Doc: "true: upstream answers listed in this Ingress's custom-http-errors pass through (moat's own 502, 503, 504 are still replaced). As in ingress-nginx it has no effect while the ConfigMap's custom-http-errors turn interception on (reported)."},
}

// Config is the parsed family.
type Config struct {
	// DefaultBackend is a Service name in the Ingress's namespace.
	DefaultBackend string
	// Codes are set when custom-http-errors is (and not empty).
	Codes    []int
	CodesSet bool
	// NoIntercept is disable-proxy-intercept-errors.
	NoIntercept bool
}

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	c := Config{DefaultBackend: r.String("default-backend", ""), NoIntercept: r.Bool("disable-proxy-intercept-errors", false)}
	// An empty value is ignored as ingress-nginx's parser does (the
	// ConfigMap's codes stay in force).
	if v, ok := r.Raw("custom-http-errors"); ok && strings.TrimSpace(v) != "" {
		codes, err := nginx.StatusCodes(v, 300, 599)
		if err != nil {
			r.Invalid("custom-http-errors", v, err.Error())
		} else {
			c.Codes, c.CodesSet = codes, true
		}
	}
	return c
}
