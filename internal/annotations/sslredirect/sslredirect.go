// Package sslredirect parses ssl-redirect and force-ssl-redirect.
package sslredirect

import "github.com/moat-ingress/moat/internal/annotations"

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "ssl-redirect", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Redirect plain HTTP to HTTPS (308) when the host has TLS; default true."},
	{Name: "force-ssl-redirect", Scope: annotations.ScopeLocation, Risk: "Medium", Status: annotations.Supported,
		Doc: "Redirect plain HTTP to HTTPS (308) even when the host has no TLS section."},
}

// Config is the parsed family.
type Config struct {
	SSLRedirect      bool
	ForceSSLRedirect bool
}

// Parse reads the family with ingress-nginx's defaults.
func Parse(r *annotations.Reader) Config { return ParseDefaults(r, true, false) }

// ParseDefaults reads the family with the controller ConfigMap's
// ssl-redirect and force-ssl-redirect as defaults.
func ParseDefaults(r *annotations.Reader, ssl, force bool) Config {
	return Config{
		SSLRedirect:      r.Bool("ssl-redirect", ssl),
		ForceSSLRedirect: r.Bool("force-ssl-redirect", force),
	}
}
