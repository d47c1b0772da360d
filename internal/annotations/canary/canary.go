// Package canary parses ingress-nginx's canary annotations. A canary
// Ingress creates no routes of its own: translate attaches its backend to
// the main Ingress's route with the same host, path and pathType.
package canary

import (
	"net/textproto"
	"regexp"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "canary", Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Mark the Ingress as a canary: each of its paths adds an alternative backend to the main Ingress's route with the same host, path and pathType (one canary per route; a canary without a main route is reported)."},
	{Name: "canary-by-header", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Header that sends the request to the canary when its value is `always` and never when `never`; other values fall through to the cookie and the weight."},
	{Name: "canary-by-header-value", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "With canary-by-header: the exact value that sends the request to the canary; other values fall through."},
	{Name: "canary-by-header-pattern", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "With canary-by-header and no -value: a regular expression (unanchored) the header value must match; PCRE-only syntax is reported."},
	{Name: "canary-by-cookie", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Cookie that sends the request to the canary when `always` and never when `never`; other values fall through to the weight."},
	{Name: "canary-weight", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Requests (out of canary-weight-total) not decided by header or cookie that go to the canary, chosen at random per request."},
	{Name: "canary-weight-total", Needs: annotations.RequiresTrue("canary", "CanaryNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Total of canary-weight; default 100 (as in ingress-nginx, a total below 100 counts as 100)."},
}

// maxWeightTotal bounds canary-weight-total; ingress-nginx has no bound,
// but anything above a million is not a percentage scheme anyone uses.
const maxWeightTotal = 1_000_000

// Parse reads the family. It returns nil when the Ingress is not a canary;
// the result has no Pool yet (translate resolves the backend).
func Parse(r *annotations.Reader) *routecfg.Canary {
	enabled := r.Bool("canary", false)
	if !enabled {
		// The other keys are reported by annotations.CheckNeeds.
		return nil
	}
	c := &routecfg.Canary{WeightTotal: 100}
	if h := r.String("canary-by-header", ""); h != "" {
		if httpguts.ValidHeaderFieldName(h) {
			c.Header = textproto.CanonicalMIMEHeaderKey(h)
		} else {
			r.Invalid("canary-by-header", h, "not a valid header name")
		}
	}
	if v, ok := r.Raw("canary-by-header-value"); ok {
		c.HeaderValue = v
		if c.Header == "" {
			nginxval.Warn(r, "canary-by-header-value", "CanaryHeaderMissing", "canary-by-header-value has no effect without canary-by-header")
		}
	}
	if p, ok := r.Raw("canary-by-header-pattern"); ok && p != "" {
		switch re, err := regexp.Compile(p); {
		case err != nil:
			r.Invalid("canary-by-header-pattern", p, "not a regular expression moat can run (RE2 syntax: no backreferences or lookaround): "+err.Error())
		case c.HeaderValue != "":
			nginxval.Warn(r, "canary-by-header-pattern", "CanaryPatternIgnored", "canary-by-header-pattern is ignored because canary-by-header-value is set (ingress-nginx's precedence)")
		default:
			c.HeaderPattern = re
			if c.Header == "" {
				nginxval.Warn(r, "canary-by-header-pattern", "CanaryHeaderMissing", "canary-by-header-pattern has no effect without canary-by-header")
			}
		}
	}
	c.Cookie = strings.TrimSpace(r.String("canary-by-cookie", ""))
	if c.Cookie != "" && !validCookieName(c.Cookie) {
		r.Invalid("canary-by-cookie", c.Cookie, "not a valid cookie name")
		c.Cookie = ""
	}
	c.WeightTotal, _ = nginxval.Int(r, "canary-weight-total", 100, 1, maxWeightTotal)
	if c.WeightTotal < 100 {
		nginxval.Warn(r, "canary-weight-total", "CanaryWeightTotalBelow100",
			"ingress-nginx treats a canary-weight-total below 100 as 100; moat does the same")
		c.WeightTotal = 100
	}
	c.Weight, _ = nginxval.Int(r, "canary-weight", 0, 0, maxWeightTotal)
	return c
}

// validCookieName is RFC 6265's token.
func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return s != ""
}
