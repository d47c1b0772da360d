// Package headers parses custom-headers, connection-proxy-header,
// proxy-http-version and x-forwarded-prefix.
package headers

import (
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "custom-headers", Status: annotations.Supported,
		Doc: "ConfigMap (name or namespace/name, only the Ingress's namespace) whose entries are set on every response; each header must be listed in the controller ConfigMap's global-allowed-response-headers, else the annotation is ignored with a diagnostic."},
	{Name: "connection-proxy-header", Status: annotations.Supported,
		Doc: "Connection header sent to the upstream (e.g. keep-alive or close) instead of the default; WebSocket upgrades keep Connection: upgrade."},
	{Name: "proxy-http-version", Status: annotations.Supported,
		Doc: "1.1 (default) or 1.0: HTTP/1.0 to the upstream, one connection per request with Connection: close, a body of unknown length sent with a Content-Length; WebSocket upgrades stay on HTTP/1.1; gRPC and FastCGI backends ignore it, as nginx's grpc_pass and fastcgi_pass do."},
	{Name: "x-forwarded-prefix", Needs: annotations.Requires("rewrite-target", "RewriteTargetMissing"), Status: annotations.Supported,
		Doc: "Send X-Forwarded-Prefix with this value upstream when the path's rewrite-target applies (ingress-nginx sets it only with a rewrite)."},
}

// Config is the parsed family.
type Config struct {
	// CustomHeaders names the ConfigMap.
	CustomHeaders    string
	Connection       string
	HTTP10           bool
	XForwardedPrefix string
}

var connRe = regexp.MustCompile(`^[A-Za-z0-9\-, ]+$`)

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	c := Config{CustomHeaders: r.String("custom-headers", "")}
	if v := r.String("connection-proxy-header", ""); v != "" {
		if !connRe.MatchString(v) {
			r.Invalid("connection-proxy-header", v, "expected connection tokens such as keep-alive or close")
		} else {
			c.Connection = v
		}
	}
	c.HTTP10 = r.OneOf("proxy-http-version", "1.1", "1.0", "1.1") == "1.0"
	if v := r.String("x-forwarded-prefix", ""); v != "" {
		if !annotations.ValidHeaderValue(v) || strings.Contains(v, "$") {
			r.Invalid("x-forwarded-prefix", v, "expected a constant path prefix")
		} else {
			c.XForwardedPrefix = v
		}
	}
	return c
}
