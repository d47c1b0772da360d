// Package sslciphers parses ingress-nginx's per-host ssl-ciphers and
// ssl-prefer-server-ciphers.
package sslciphers

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/tlspolicy"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "ssl-ciphers", Status: annotations.Supported,
		Doc: "TLS 1.2 cipher suites (OpenSSL names) for the host, in place of the ConfigMap's; TLS 1.3 suites are fixed in Go."},
	{Name: "ssl-prefer-server-ciphers", Status: annotations.Partial,
		Doc: "Accepted and ignored: Go chooses the suite order itself (AES-GCM or ChaCha20 by the client's hardware)."},
}

// Parse returns the host's TLS 1.2 suites; nil when unset or when no name
// is usable (the listener policy applies).
func Parse(r *annotations.Reader) []uint16 {
	r.Bool("ssl-prefer-server-ciphers", true) // validated only
	v := r.String("ssl-ciphers", "")
	if v == "" {
		return nil
	}
	suites, uns := tlspolicy.ParseCiphers(v)
	switch {
	case len(uns) > 0:
		r.Invalid("ssl-ciphers", v, "no Go cipher suite for "+strings.Join(uns, ", "))
		return nil
	case len(suites) == 0:
		r.Invalid("ssl-ciphers", v, "no TLS 1.2 cipher suite Go implements")
	}
	return suites
}
