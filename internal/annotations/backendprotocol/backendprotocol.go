// Package backendprotocol parses ingress-nginx's backend-protocol.
package backendprotocol

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "backend-protocol", Status: annotations.Supported,
		Doc: "HTTP (default), HTTPS, GRPC (h2c), GRPCS (h2 over TLS), AUTO_HTTP (the client's scheme: HTTP requests over HTTP, HTTPS ones over TLS) or FCGI (FastCGI, with nginx's fastcgi_params; see fastcgi-index and fastcgi-params-configmap). Case-insensitive; any other value (AJP included, which ingress-nginx dropped) is reported and served as HTTP."},
}

// Parse returns the protocol; values are case-insensitive as in
// ingress-nginx. Unsupported or bad values are reported and give HTTP.
func Parse(r *annotations.Reader) routecfg.BackendProtocol {
	v, ok := r.Raw("backend-protocol")
	if !ok {
		return routecfg.ProtocolHTTP
	}
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "HTTP":
		return routecfg.ProtocolHTTP
	case "HTTPS":
		return routecfg.ProtocolHTTPS
	case "GRPC":
		return routecfg.ProtocolGRPC
	case "GRPCS":
		return routecfg.ProtocolGRPCS
	case "AUTO_HTTP":
		return routecfg.ProtocolAutoHTTP
	case "FCGI":
		return routecfg.ProtocolFCGI
	default:
		r.Invalid("backend-protocol", v, "expected HTTP, HTTPS, AUTO_HTTP, GRPC, GRPCS or FCGI; HTTP is used")
	}
	return routecfg.ProtocolHTTP
}
