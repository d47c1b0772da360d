// Package passthrough parses ingress-nginx's ssl-passthrough.
package passthrough

import "github.com/moat-ingress/moat/internal/annotations"

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "ssl-passthrough", Status: annotations.Supported,
		Doc: "Forward the host's TLS connections unterminated to the backend of its \"/\" path, chosen by SNI (needs --enable-ssl-passthrough)."},
}

// Parse reports whether the Ingress asks for passthrough.
func Parse(r *annotations.Reader) bool { return r.Bool("ssl-passthrough", false) }
