// Package redirect parses ingress-nginx's redirect annotations:
// permanent-redirect and temporal-redirect with their codes,
// from-to-www-redirect, app-root, and the options that shape redirects.
package redirect

import (
	"net/url"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "permanent-redirect", Status: annotations.Supported,
		Doc: "Answer every request with permanent-redirect-code (301) and this http(s) URL as Location; nginx request variables such as $request_uri are expanded."},
	{Name: "permanent-redirect-code", Needs: annotations.Requires("permanent-redirect", "RedirectMissing"), Status: annotations.Supported,
		Doc: "Status for permanent-redirect, 300-308; default 301."},
	{Name: "temporal-redirect", Status: annotations.Supported,
		Doc: "Like permanent-redirect with temporal-redirect-code (302); wins over permanent-redirect."},
	{Name: "temporal-redirect-code", Needs: annotations.Requires("temporal-redirect", "RedirectMissing"), Status: annotations.Supported,
		Doc: "Status for temporal-redirect, 300-308; default 302."},
	{Name: "from-to-www-redirect", Status: annotations.Supported,
		Doc: "Redirect foo.com to www.foo.com (or the reverse) with http-redirect-code (308), keeping scheme and URI; not for wildcard hosts or a host another rule serves."},
	{Name: "app-root", Status: annotations.Supported,
		Doc: "Answer a request for / on the Ingress's hosts with 302 to this path (on the request's scheme and Host)."},
	{Name: "preserve-trailing-slash", Status: annotations.Supported,
		Doc: "Keep a trailing slash in the HTTP to HTTPS redirect Location (dropped by default)."},
	{Name: "use-port-in-redirects", Status: annotations.Supported,
		Doc: "Put the HTTPS port in HTTP to HTTPS redirects (https://host:443/...)."},
	{Name: "relative-redirects", Status: annotations.Supported,
		Doc: "Accepted; every redirect moat generates is already an absolute URL built from the request, as with nginx's absolute_redirect."},
}

// Config is the parsed family.
type Config struct {
	// Redirect is nil when no key of the family is set.
	Redirect *routecfg.Redirect
	// URL is the template of Redirect.URL.
	URL vartemplate.Template
	// FromToWWW and AppRoot are host-level.
	FromToWWW bool
	AppRoot   string
}

// Parse reads the family with ingress-nginx's defaults.
func Parse(r *annotations.Reader) Config {
	var c Config
	rd := &routecfg.Redirect{
		Relative:              r.Bool("relative-redirects", false),
		UsePort:               r.Bool("use-port-in-redirects", false),
		PreserveTrailingSlash: r.Bool("preserve-trailing-slash", false),
	}
	// Both codes are read up front so that a bad one is reported even
	// when its URL is unset or loses to temporal-redirect.
	for _, k := range []struct {
		url  string
		code int
	}{
		{"temporal-redirect", r.Int("temporal-redirect-code", 302, 300, 308)},
		{"permanent-redirect", r.Int("permanent-redirect-code", 301, 300, 308)},
	} {
		v := r.String(k.url, "")
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.Invalid(k.url, v, "expected an absolute http:// or https:// URL")
			continue
		}
		t, err := annotations.ParseTemplate(v)
		if err != nil {
			r.Invalid(k.url, v, err.Error())
			continue
		}
		c.URL, rd.URL = t, v
		rd.Code = k.code
		break // temporal-redirect wins
	}
	if rd.URL != "" || rd.Relative || rd.UsePort || rd.PreserveTrailingSlash {
		c.Redirect = rd
	}
	c.FromToWWW = r.Bool("from-to-www-redirect", false)
	if v := r.String("app-root", ""); v != "" {
		u, err := url.Parse(v)
		if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " $\"'") {
			r.Invalid("app-root", v, "expected a path starting with /")
		} else {
			c.AppRoot = v
		}
	}
	return c
}
