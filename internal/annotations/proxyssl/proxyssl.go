// Package proxyssl parses ingress-nginx's proxy-ssl-* annotations: how
// moat's TLS client talks to HTTPS and GRPCS backends.
package proxyssl

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/tlspolicy"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "proxy-ssl-secret", Status: annotations.Supported,
		Doc: "Secret (namespace/name, same namespace only) with tls.crt/tls.key presented to the backend and/or ca.crt to verify it."},
	{Name: "proxy-ssl-verify", Status: annotations.Supported,
		Doc: "on: verify the backend certificate against ca.crt and proxy-ssl-name (default off, as nginx)."},
	{Name: "proxy-ssl-verify-depth", Status: annotations.Supported,
		Doc: "Most intermediate CAs in the backend chain (default 1)."},
	{Name: "proxy-ssl-name", Status: annotations.Supported,
		Doc: "Name verified in the backend certificate and sent as SNI with proxy-ssl-server-name (default service.namespace.svc)."},
	{Name: "proxy-ssl-server-name", Status: annotations.Supported,
		Doc: "on: send proxy-ssl-name as SNI (default off)."},
	{Name: "proxy-ssl-protocols", Status: annotations.Supported,
		Doc: "Protocols offered to the backend (default Go's TLSv1.2 TLSv1.3)."},
	{Name: "proxy-ssl-ciphers", Status: annotations.Supported,
		Doc: "OpenSSL cipher list for TLS 1.2 to the backend (default Go's)."},
}

// Config is the parsed family.
type Config struct {
	// Namespace and Name of proxy-ssl-secret; Name is "" when unset.
	Namespace, Name string
	Verify          bool
	VerifyDepth     int
	SSLName         string
	ServerName      bool
	MinVersion      uint16
	MaxVersion      uint16
	CipherSuites    []uint16
}

// Set reports whether any key changes the defaults.
func (c Config) Set() bool {
	return c.Name != "" || c.Verify || c.VerifyDepth != 1 || c.SSLName != "" || c.ServerName ||
		c.MinVersion != 0 || c.CipherSuites != nil
}

// Parse reads the family with ingress-nginx's defaults, except that unset
// protocols and ciphers are Go's (nginx's default list includes TLSv1).
func Parse(r *annotations.Reader) Config {
	c := Config{VerifyDepth: 1}
	if v := r.String("proxy-ssl-secret", ""); v != "" {
		ns, n, found := strings.Cut(v, "/")
		if !found {
			ns, n = "", v
		}
		if n == "" || strings.Contains(n, "/") || (found && ns == "") {
			r.Invalid("proxy-ssl-secret", v, "expected namespace/name of a Secret")
		} else {
			c.Namespace, c.Name = ns, n
		}
	}
	c.Verify = r.OneOf("proxy-ssl-verify", "off", "on", "off") == "on"
	c.VerifyDepth = r.Int("proxy-ssl-verify-depth", 1, 0, 100)
	if c.VerifyDepth == 0 {
		c.VerifyDepth = 1
	}
	c.SSLName = r.String("proxy-ssl-name", "")
	c.ServerName = r.OneOf("proxy-ssl-server-name", "off", "on", "off") == "on"
	if v := r.String("proxy-ssl-protocols", ""); v != "" {
		minV, maxV, uns, err := tlspolicy.ParseProtocols(v)
		switch {
		case err != nil:
			r.Invalid("proxy-ssl-protocols", v, err.Error())
		case len(uns) > 0:
			r.Invalid("proxy-ssl-protocols", v, strings.Join(uns, ", ")+" not supported by Go")
		default:
			c.MinVersion, c.MaxVersion = minV, maxV
		}
	}
	if v := r.String("proxy-ssl-ciphers", ""); v != "" {
		suites, uns := tlspolicy.ParseCiphers(v)
		if len(uns) > 0 {
			r.Invalid("proxy-ssl-ciphers", v, "no Go cipher suite for "+strings.Join(uns, ", "))
		} else {
			c.CipherSuites = suites
		}
	}
	return c
}
