// Package proxyssl parses ingress-nginx's proxy-ssl-* annotations: how
// moat's TLS client talks to HTTPS and GRPCS backends.
package proxyssl

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/tlspolicy"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "proxy-ssl-secret", Status: annotations.Supported,
		Doc: "Secret (namespace/name, same namespace only) with tls.crt/tls.key presented to the backend and/or ca.crt to verify it. The other proxy-ssl-* keys apply only with it, as in ingress-nginx; a Secret that is missing, in another namespace or holds neither denies the Ingress's paths (503)."},
	{Name: "proxy-ssl-verify", Needs: needsSecret, Status: annotations.Supported,
		Doc: "on: verify the backend certificate against ca.crt and proxy-ssl-name (default off, as nginx). Like proxy-ssl-verify-depth, -protocols and -ciphers it applies only when the Secret has a ca.crt."},
	{Name: "proxy-ssl-verify-depth", Needs: needsSecret, Status: annotations.Supported,
		Doc: "Most intermediate CAs in the backend chain (default 1); only with a ca.crt."},
	{Name: "proxy-ssl-name", Needs: needsSecret, Status: annotations.Supported,
		Doc: "Name verified in the backend certificate and sent as SNI with proxy-ssl-server-name (default service.namespace.svc)."},
	{Name: "proxy-ssl-server-name", Needs: needsSecret, Status: annotations.Supported,
		Doc: "on: send proxy-ssl-name as SNI (default off)."},
	{Name: "proxy-ssl-protocols", Needs: needsSecret, Status: annotations.Supported,
		Doc: "Protocols offered to the backend (default Go's TLSv1.2 TLSv1.3); only with a ca.crt."},
	{Name: "proxy-ssl-ciphers", Needs: needsSecret, Status: annotations.Supported,
		Doc: "OpenSSL cipher list for TLS 1.2 to the backend (default Go's); only with a ca.crt."},
}

// needsSecret: ingress-nginx's proxyssl parser returns an empty config
// when proxy-ssl-secret is unset, so every other key is ignored.
var needsSecret = annotations.Requires("proxy-ssl-secret", "ProxySSLSecretMissing")

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
	// Denied is set when proxy-ssl-secret cannot be used: ingress-nginx
	// denies the location (503).
	Denied string
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
	v := r.String("proxy-ssl-secret", "")
	if v == "" {
		// The other keys are reported by annotations.CheckNeeds.
		return c
	}
	ns, n, found := strings.Cut(v, "/")
	if !found {
		ns, n = "", v
	}
	if n == "" || strings.Contains(n, "/") || (found && ns == "") {
		r.Invalid("proxy-ssl-secret", v, "expected namespace/name of a Secret; the paths are denied (503), as in ingress-nginx")
		c.Denied = "invalid proxy-ssl-secret"
		return c
	}
	c.Namespace, c.Name = ns, n
	c.Verify = r.OneOf("proxy-ssl-verify", "off", "on", "off") == "on"
	c.VerifyDepth = r.Int("proxy-ssl-verify-depth", 1, 0, 100)
	if c.VerifyDepth == 0 {
		c.VerifyDepth = 1
	}
	c.SSLName = r.String("proxy-ssl-name", "")
	c.ServerName = r.OneOf("proxy-ssl-server-name", "off", "on", "off") == "on"
	if v := r.String("proxy-ssl-protocols", ""); v != "" {
		minV, maxV, uns, err := nginx.ParseProtocols(v)
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
