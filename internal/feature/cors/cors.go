// Package cors parses ingress-nginx's CORS annotations.
package cors

import (
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Defaults of ingress-nginx (annotations.md#enable-cors).
const (
	DefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	DefaultHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	DefaultMaxAge  = "1728000"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "enable-cors", Status: annotations.Supported,
		Doc: "Answer CORS: an allowed Origin gets the Access-Control-* headers on every response, and its OPTIONS requests get 204 from moat."},
	{Name: "cors-allow-origin", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Comma-separated origins (scheme://host[:port], * for one DNS label as in https://*.example.com) or * (default); a matching Origin is echoed."},
	{Name: "cors-allow-methods", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Access-Control-Allow-Methods; default GET, PUT, POST, DELETE, PATCH, OPTIONS."},
	{Name: "cors-allow-headers", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Access-Control-Allow-Headers; default DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization."},
	{Name: "cors-expose-headers", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Access-Control-Expose-Headers; none by default."},
	{Name: "cors-allow-credentials", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Send Access-Control-Allow-Credentials: true; default true."},
	{Name: "cors-max-age", Needs: annotations.RequiresTrue("enable-cors", "CORSNotEnabled"), Status: annotations.Supported,
		Doc: "Access-Control-Max-Age in seconds; default 1728000."},
}

var (
	// ingress-nginx's validators (internal/ingress/annotations/cors).
	methodsRe = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	headersRe = regexp.MustCompile(`^([A-Za-z0-9\-\_]+,?\s?)+$`)
	exposeRe  = regexp.MustCompile(`^(([A-Za-z0-9\-\_]+|\*),?\s?)+$`)
	originRe  = regexp.MustCompile(`^[a-z][a-z0-9+.\-]*://(\*\.)?[A-Za-z0-9\-.]+(:[0-9]+)?$`)
)

// Parse reads the family; nil when enable-cors is not true.
func Parse(r *annotations.Reader) *routecfg.CORS {
	if !r.Bool("enable-cors", false) {
		return nil
	}
	c := &routecfg.CORS{
		AllowMethods:     match(r, "cors-allow-methods", DefaultMethods, methodsRe),
		AllowHeaders:     match(r, "cors-allow-headers", DefaultHeaders, headersRe),
		ExposeHeaders:    match(r, "cors-expose-headers", "", exposeRe),
		AllowCredentials: r.Bool("cors-allow-credentials", true),
		MaxAge:           "1728000",
	}
	if _, ok := r.Raw("cors-max-age"); ok {
		c.MaxAge = itoa(r.Int("cors-max-age", 1728000, 0, 1<<31-1))
	}
	v, ok := r.Raw("cors-allow-origin")
	if !ok || strings.TrimSpace(v) == "" {
		c.AnyOrigin = true
		return c
	}
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			c.AnyOrigin, c.Origins = true, nil
			return c
		}
		if !originRe.MatchString(o) {
			r.Invalid("cors-allow-origin", o, "expected an origin such as https://example.com, https://*.example.com or *; this origin is skipped")
			continue
		}
		// "*" stands for one DNS label, as in ingress-nginx's
		// buildOriginRegex; the match is anchored at both ends.
		q := strings.Replace(regexp.QuoteMeta(o), `\*`, `[A-Za-z0-9\-]+`, 1)
		c.Origins = append(c.Origins, regexp.MustCompile(`(?i)^`+q+`$`))
	}
	return c
}

func match(r *annotations.Reader, name, def string, re *regexp.Regexp) string {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	v = strings.TrimSpace(v)
	if !re.MatchString(v) {
		r.Invalid(name, v, "not a list of tokens; the default is used")
		return def
	}
	return v
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
