package httprule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
	"golang.org/x/net/http/httpguts"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// corsOriginRE is the CRD's shape of an origin: scheme://host[:port], the
// host possibly starting with "*" (or "*" alone for every origin).
var corsOriginRE = regexp.MustCompile(`^(https?)://(\*|(?:\*\.)?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)(?::([0-9]{1,5}))?$`)

// CORS maps the CORS filter onto the enable-cors machinery, with Gateway
// API's semantics where they differ from ingress-nginx's: "*" in a host
// matches any number of labels; the allowed Origin is always echoed
// (never "*", which credentials forbid); "*" methods or headers echo the
// preflight's request; a preflight is answered 200; maxAge defaults to 5.
// It returns why the filter cannot be served ("" if it can), and the field.
func CORS(f *gatewayv1.HTTPCORSFilter, field string) (*routecfg.CORS, string, string) {
	c := &routecfg.CORS{PreflightStatus: 200, MaxAge: "5"}
	if f.AllowCredentials != nil && *f.AllowCredentials {
		c.AllowCredentials = true
	}
	for i, o := range f.AllowOrigins {
		re, ok := originRegexp(string(o))
		if !ok {
			return nil, fmt.Sprintf("allowOrigins %q is not scheme://host[:port] (http or https, \"*\" leading the host)", o), fmt.Sprintf("%s.allowOrigins[%d]", field, i)
		}
		c.Origins = append(c.Origins, re)
	}
	var methods []string
	for i, m := range f.AllowMethods {
		switch {
		case m == "*":
			c.EchoMethods = true
		case !httpguts.ValidHeaderFieldName(string(m)): // a token, as a method is
			return nil, fmt.Sprintf("allowMethods %q is not an HTTP method", m), fmt.Sprintf("%s.allowMethods[%d]", field, i)
		default:
			methods = append(methods, string(m))
		}
	}
	names := func(list []gatewayv1.HTTPHeaderName, what string) ([]string, bool, string, string) {
		var out []string
		star := false
		for i, h := range list {
			switch {
			case h == "*":
				star = true
			case !httpguts.ValidHeaderFieldName(string(h)):
				return nil, false, fmt.Sprintf("%s %q is not a valid HTTP header name", what, h), fmt.Sprintf("%s.%s[%d]", field, what, i)
			default:
				out = append(out, string(h))
			}
		}
		return out, star, "", ""
	}
	headers, star, msg, mf := names(f.AllowHeaders, "allowHeaders")
	if msg != "" {
		return nil, msg, mf
	}
	c.EchoHeaders = star
	expose, star, msg, mf := names(f.ExposeHeaders, "exposeHeaders")
	if msg != "" {
		return nil, msg, mf
	}
	if star && !c.AllowCredentials {
		// With credentials "*" is a literal name to browsers; it is left out.
		expose = append(expose, "*")
	}
	c.AllowMethods, c.AllowHeaders, c.ExposeHeaders = strings.Join(methods, ", "), strings.Join(headers, ", "), strings.Join(expose, ", ")
	if f.MaxAge > 0 {
		c.MaxAge = strconv.Itoa(int(f.MaxAge))
	}
	return c, "", ""
}

// originRegexp matches the Origins allowed by o. A missing port is the
// scheme's default, which browsers leave out of Origin.
func originRegexp(o string) (*regexp.Regexp, bool) {
	if o == "*" {
		return regexp.MustCompile(`^.+$`), true
	}
	m := corsOriginRE.FindStringSubmatch(o)
	if m == nil {
		return nil, false
	}
	scheme, host, port := m[1], m[2], m[3]
	def := map[string]string{"http": "80", "https": "443"}[scheme]
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, false
		}
	}
	hostRE := regexp.QuoteMeta(host)
	if strings.HasPrefix(host, "*") {
		// Greedy to the left: any number of labels.
		hostRE = `[A-Za-z0-9\-.]+` + regexp.QuoteMeta(host[1:])
	}
	portRE := "(?::" + def + ")?"
	if port != "" && port != def {
		portRE = ":" + port
	}
	return regexp.MustCompile(`(?i)^` + regexp.QuoteMeta(scheme) + `://` + hostRE + portRE + `$`), true
}
