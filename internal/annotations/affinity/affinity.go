// Package affinity parses ingress-nginx's cookie session affinity.
package affinity

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// DefaultCookieName is ingress-nginx's session-cookie-name default.
const DefaultCookieName = "INGRESSCOOKIE"

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "affinity", Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "`cookie`: keep a client on one endpoint with a cookie set by moat (HttpOnly; Secure on HTTPS). The cookie holds hashes, never an address. Only the paths of the Ingress that sets it are sticky."},
	{Name: "affinity-mode", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "`balanced` (default: the cookie's key is consistently hashed onto the endpoints, so scaling moves some sessions) or `persistent` (the cookie names the endpoint; a session moves only when its endpoint goes away)."},
	{Name: "affinity-canary-behavior", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "On a canary Ingress: `sticky` (default: a client whose cookie belongs to the main or the canary backend stays there) or `legacy` (the canary decision ignores affinity)."},
	{Name: "session-cookie-name", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Name of the affinity cookie; default INGRESSCOOKIE."},
	{Name: "session-cookie-path", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Path of the affinity cookie; default the route's path. On regex paths without it moat uses / (ingress-nginx would write the regex as the cookie path, which browsers never send back)."},
	{Name: "session-cookie-domain", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Domain attribute of the affinity cookie."},
	{Name: "session-cookie-samesite", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "SameSite attribute of the affinity cookie: None, Lax or Strict."},
	{Name: "session-cookie-conditional-samesite-none", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Omit SameSite=None for user agents known to reject it (ingress-nginx's list: Chrome 51-66, iOS 12, macOS 10.14 Safari)."},
	{Name: "session-cookie-secure", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Set Secure on the affinity cookie even for plain-HTTP requests (HTTPS requests always get it)."},
	{Name: "session-cookie-partitioned", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Set the Partitioned attribute on the affinity cookie."},
	{Name: "session-cookie-max-age", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Max-Age of the affinity cookie in seconds; without it (and without -expires) the cookie lasts the browser session."},
	{Name: "session-cookie-expires", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Legacy form of max-age: an Expires date this many seconds after the response."},
	{Name: "session-cookie-change-on-failure", Needs: annotations.Requires("affinity", "AffinityNotEnabled"), Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "When an attempt fails and the request is retried, move the session to another endpoint and reset the cookie (default false: retries go to the cookie's endpoint)."},
}

// secondsRegex is ingress-nginx's affinityCookieExpiresRegex (0, or an
// integer without leading zeros, possibly negative).
var secondsRegex = regexp.MustCompile(`^(0|-?[1-9]\d*)$`)

// basicChars is ingress-nginx's BasicCharsRegex, used for the cookie
// name and domain.
var basicChars = regexp.MustCompile(`^[A-Za-z0-9._\-\~]*$`)

// pathChars is what a cookie Path may hold (no ';', no control chars).
var pathChars = regexp.MustCompile(`^/[^;\x00-\x1f\x7f]*$`)

// Parse reads the family; nil when affinity is not "cookie".
func Parse(r *annotations.Reader) *routecfg.Affinity {
	typ, ok := r.Raw("affinity")
	if !ok {
		// The other keys are reported by annotations.CheckNeeds.
		return nil
	}
	if strings.TrimSpace(typ) != "cookie" {
		r.Invalid("affinity", typ, `the only affinity type is "cookie"`)
		return nil
	}
	a := &routecfg.Affinity{CookieName: DefaultCookieName}
	if m, _ := nginxval.OneOf(r, "affinity-mode", "balanced", "balanced", "persistent"); m == "persistent" {
		a.Mode = routecfg.AffinityPersistent
	}
	cb, _ := nginxval.OneOf(r, "affinity-canary-behavior", "sticky", "sticky", "legacy")
	a.CanaryLegacy = cb == "legacy"
	if v, ok := r.Raw("session-cookie-name"); ok {
		t := strings.TrimSpace(v)
		if t == "" || !basicChars.MatchString(t) {
			r.Invalid("session-cookie-name", v, "expected letters, digits and . _ - ~")
		} else {
			a.CookieName = t
		}
	}
	if v, ok := r.Raw("session-cookie-path"); ok {
		if t := strings.TrimSpace(v); pathChars.MatchString(t) {
			a.Path = t
		} else {
			r.Invalid("session-cookie-path", v, "expected a path starting with /")
		}
	}
	if v, ok := r.Raw("session-cookie-domain"); ok {
		if t := strings.TrimSpace(v); t != "" && basicChars.MatchString(t) {
			a.Domain = t
		} else {
			r.Invalid("session-cookie-domain", v, "expected a domain name")
		}
	}
	if v, ok := r.Raw("session-cookie-samesite"); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "none":
			a.SameSite = "None"
		case "lax":
			a.SameSite = "Lax"
		case "strict":
			a.SameSite = "Strict"
		default:
			r.Invalid("session-cookie-samesite", v, "expected None, Lax or Strict")
		}
	}
	a.ConditionalSameSiteNone = r.Bool("session-cookie-conditional-samesite-none", false)
	a.Secure = r.Bool("session-cookie-secure", false)
	a.Partitioned = r.Bool("session-cookie-partitioned", false)
	a.ChangeOnFailure = r.Bool("session-cookie-change-on-failure", false)
	a.MaxAge, a.HasMaxAge = seconds(r, "session-cookie-max-age")
	a.Expires, a.HasExpires = seconds(r, "session-cookie-expires")
	if a.SameSite == "None" && !a.Secure {
		nginxval.Warn(r, "session-cookie-samesite", "SameSiteNoneWithoutSecure",
			"browsers reject SameSite=None cookies without Secure; plain-HTTP requests will not keep affinity (set session-cookie-secure)")
	}
	return a
}

func seconds(r *annotations.Reader, name string) (int, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return 0, false
	}
	t := strings.TrimSpace(v)
	n, err := strconv.Atoi(t)
	if err != nil || !secondsRegex.MatchString(t) {
		r.Invalid(name, v, "expected a whole number of seconds")
		return 0, false
	}
	return n, true
}
