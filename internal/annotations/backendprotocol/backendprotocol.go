// Package backendprotocol parses ingress-nginx's backend-protocol.
package backendprotocol

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "backend-protocol", Status: annotations.Partial,
		Doc: "HTTP (default), HTTPS, GRPC (h2c) or GRPCS (h2 over TLS) to the backend; AUTO_HTTP, FCGI and AJP are refused and served as HTTP."},
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
	case "AUTO_HTTP", "FCGI", "AJP":
		r.Invalid("backend-protocol", v, "moat does not speak this protocol to backends; HTTP is used")
	default:
		r.Invalid("backend-protocol", v, "expected HTTP, HTTPS, GRPC or GRPCS")
	}
	return routecfg.ProtocolHTTP
}
