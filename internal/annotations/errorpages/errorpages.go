// Package errorpages parses default-backend, custom-http-errors and
// disable-proxy-intercept-errors.
package errorpages

import (
	"github.com/moat-ingress/moat/internal/annotations"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "default-backend", Status: annotations.Supported,
		Doc: "Service (same namespace, first port) that serves the paths when their Service has no ready endpoints or is missing, and that answers custom-http-errors."},
	{Name: "custom-http-errors", Status: annotations.Supported,
		Doc: "Comma-separated codes (300-599): such upstream answers are replaced by the default backend's answer for / (same method, query kept, no body) with X-Code, X-Format, X-Original-URI, X-Namespace, X-Ingress-Name, X-Service-Name, X-Service-Port, X-Request-ID; without a default backend, 404 as ingress-nginx's built-in one."},
	{Name: "disable-proxy-intercept-errors", Status: annotations.Supported,
		Doc: "true: the upstream's error answers pass through even when custom-http-errors (the annotation or the ConfigMap's) lists them."},
}

// Config is the parsed family.
type Config struct {
	// DefaultBackend is a Service name in the Ingress's namespace.
	DefaultBackend string
	// Codes are set when custom-http-errors is; CodesSet distinguishes an
	// explicit empty list.
	Codes    []int
	CodesSet bool
	// NoIntercept is disable-proxy-intercept-errors.
	NoIntercept bool
}

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	c := Config{DefaultBackend: r.String("default-backend", ""), NoIntercept: r.Bool("disable-proxy-intercept-errors", false)}
	if v, ok := r.Raw("custom-http-errors"); ok {
		codes, err := annotations.StatusCodes(v, 300, 599)
		if err != nil {
			r.Invalid("custom-http-errors", v, err.Error())
		} else {
			c.Codes, c.CodesSet = codes, true
		}
	}
	return c
}
