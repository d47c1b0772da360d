// Package proxyrewrite parses proxy-redirect-from / -to,
// proxy-cookie-domain and proxy-cookie-path: rewrites of the upstream's
// Location, Refresh and Set-Cookie headers, as nginx's proxy_redirect,
// proxy_cookie_domain and proxy_cookie_path. ingress-nginx's validators
// allow no "$" in these values, so there are no variables: literal text,
// or a regex after "~".
package proxyrewrite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "proxy-redirect-from", Status: annotations.Supported,
		Doc: "With proxy-redirect-to, nginx's proxy_redirect FROM TO: an upstream Location (or Refresh url=) that starts with FROM gets TO in its place (case-sensitive; `~regex`: a matching value is replaced whole). `off` (default) and `default` leave the headers alone, as nginx's default rule only matches ingress-nginx's internal upstream name."},
	{Name: "proxy-redirect-to", Needs: annotations.Requires("proxy-redirect-from", "ProxyRedirectFromMissing"), Status: annotations.Supported,
		Doc: "Replacement for proxy-redirect-from; `off` (default) turns the rewrite off."},
	{Name: "proxy-cookie-domain", Status: annotations.Supported,
		Doc: "`FROM TO` (nginx proxy_cookie_domain): a Set-Cookie from the upstream whose Domain equals FROM (case-insensitive, leading dots ignored and kept) gets Domain TO; `~regex` matches instead; `off` (default)."},
	{Name: "proxy-cookie-path", Status: annotations.Supported,
		Doc: "`FROM TO` (nginx proxy_cookie_path): a Set-Cookie from the upstream whose Path starts with FROM (case-sensitive) gets TO in place of that prefix; `~regex` replaces a matching path whole; `off` (default)."},
}

// ingress-nginx's validators (parser.URLIsValidRegex and BasicCharsRegex,
// spaces removed before the check).
var (
	urlChars   = regexp.MustCompile(`^[\-._~a-zA-Z0-9/:?&=]*$`)
	basicChars = regexp.MustCompile(`^[/\-._~a-zA-Z0-9:]*$`)
)

// Parse reads the family; nil when nothing is rewritten.
func Parse(r *annotations.Reader) *routecfg.ProxyRewrite { return ParseDefaults(r, nil, nil) }

// ParseDefaults is Parse with the controller ConfigMap's
// proxy-cookie-domain and proxy-cookie-path (see ParseCookieDefault) used
// where the Ingress does not set its own, as ingress-nginx.
func ParseDefaults(r *annotations.Reader, cookieDomain, cookiePath *routecfg.TextRewrite) *routecfg.ProxyRewrite {
	return parseDefaults(r, cookieDomain, cookiePath, "off", "off")
}

// parseDefaults also takes the ConfigMap's proxy-redirect-from and
// proxy-redirect-to: ingress-nginx's proxy parser falls back to them one
// by one where the annotation is unset or invalid.
func parseDefaults(r *annotations.Reader, cookieDomain, cookiePath *routecfg.TextRewrite, redirectFrom, redirectTo string) *routecfg.ProxyRewrite {
	p := &routecfg.ProxyRewrite{
		Redirect:     redirect(r, redirectFrom, redirectTo),
		CookieDomain: pair(r, "proxy-cookie-domain", basicChars, true),
		CookiePath:   pair(r, "proxy-cookie-path", urlChars, false),
	}
	if _, set := r.Raw("proxy-cookie-domain"); !set {
		p.CookieDomain = cookieDomain
	}
	if _, set := r.Raw("proxy-cookie-path"); !set {
		p.CookiePath = cookiePath
	}
	if p.Redirect == nil && p.CookieDomain == nil && p.CookiePath == nil {
		return nil
	}
	return p
}

func value(r *annotations.Reader, key string, chars *regexp.Regexp) (string, bool) {
	v := r.String(key, "")
	if v == "" {
		return "", false
	}
	if !chars.MatchString(strings.ReplaceAll(v, " ", "")) {
		r.Invalid(key, v, "characters outside what ingress-nginx accepts (letters, digits, - . _ ~ / : and for URLs ? & =; no variables)")
		return "", false
	}
	return v, true
}

// redirect is ingress-nginx's template: from "default" or "off" gives
// proxy_redirect default|off; otherwise, unless to is "off",
// proxy_redirect from to.
// defFrom and defTo are the ConfigMap's values ("off" unless set); the
// warnings are only for what the Ingress sets itself.
func redirect(r *annotations.Reader, defFrom, defTo string) *routecfg.TextRewrite {
	from, fromAnn := value(r, "proxy-redirect-from", urlChars)
	to, toAnn := value(r, "proxy-redirect-to", urlChars)
	if _, raw := r.Raw("proxy-redirect-to"); raw && !toAnn && r.String("proxy-redirect-to", "") != "" && defTo == "off" {
		return nil // an invalid proxy-redirect-to, already reported
	}
	fromSet, toSet := fromAnn, toAnn
	if !fromSet && defFrom != "off" {
		from, fromSet = defFrom, true
	}
	if !toSet && defTo != "off" {
		to, toSet = defTo, true
	}
	switch {
	case !fromSet || from == "off" || from == "default":
		if fromSet && toAnn && to != "off" {
			nginxval.Warn(r, "proxy-redirect-to", "ProxyRedirectFromMissing",
				fmt.Sprintf("proxy-redirect-to has no effect with proxy-redirect-from %q (ingress-nginx writes proxy_redirect %s)", from, from))
		}
		return nil
	case !toSet || to == "off":
		if fromAnn {
			nginxval.Warn(r, "proxy-redirect-from", "ProxyRedirectToMissing",
				"proxy-redirect-from has no effect without proxy-redirect-to (ingress-nginx writes no proxy_redirect)")
		}
		return nil
	}
	for _, kv := range [][2]string{{"proxy-redirect-from", from}, {"proxy-redirect-to", to}} {
		if strings.ContainsAny(kv[1], " \t") {
			r.Invalid(kv[0], kv[1], "one word expected (nginx's proxy_redirect takes two)")
			return nil
		}
	}
	t, err := rewrite(from, to, false)
	if err != nil {
		r.Invalid("proxy-redirect-from", from, err.Error())
		return nil
	}
	return t
}

// pair parses "off" or "FROM TO".
func pair(r *annotations.Reader, key string, chars *regexp.Regexp, domain bool) *routecfg.TextRewrite {
	v, ok := value(r, key, chars)
	if !ok || v == "off" {
		return nil
	}
	f := strings.Fields(v)
	if len(f) != 2 {
		r.Invalid(key, v, `expected "off" or two words: the text to replace and its replacement`)
		return nil
	}
	from := f[0]
	if domain && !strings.HasPrefix(from, "~") {
		// nginx drops a leading dot of the pattern (and ignores the
		// cookie's own).
		from = strings.TrimPrefix(from, ".")
	}
	t, err := rewrite(from, f[1], domain)
	if err != nil {
		r.Invalid(key, v, err.Error())
		return nil
	}
	return t
}

// ParseCookieDefault checks a controller ConfigMap value of
// proxy-cookie-domain (domain) or proxy-cookie-path with the annotation's
// rules; nil for "off".
func ParseCookieDefault(v string, domain bool) (*routecfg.TextRewrite, error) {
	chars := urlChars
	if domain {
		chars = basicChars
	}
	if v == "off" {
		return nil, nil
	}
	if !chars.MatchString(strings.ReplaceAll(v, " ", "")) {
		return nil, fmt.Errorf("characters outside what ingress-nginx accepts (letters, digits, - . _ ~ / : and for paths ? & =; no variables)")
	}
	f := strings.Fields(v)
	if len(f) != 2 {
		return nil, fmt.Errorf(`expected "off" or two words: the text to replace and its replacement`)
	}
	from := f[0]
	if domain && !strings.HasPrefix(from, "~") {
		from = strings.TrimPrefix(from, ".")
	}
	return rewrite(from, f[1], domain)
}

func rewrite(from, to string, caseless bool) (*routecfg.TextRewrite, error) {
	re, ok := strings.CutPrefix(from, "~")
	if !ok {
		return &routecfg.TextRewrite{From: from, To: to}, nil
	}
	if caseless {
		re = "(?i)" + re
	}
	c, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %v", err)
	}
	return &routecfg.TextRewrite{Regex: c, To: to}, nil
}
