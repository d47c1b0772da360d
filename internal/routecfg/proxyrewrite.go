package routecfg

import "regexp"

// ProxyRewrite rewrites upstream response headers as nginx's
// proxy_redirect (Location and Refresh), proxy_cookie_domain and
// proxy_cookie_path (Set-Cookie attributes). Each nil field is "off".
type ProxyRewrite struct {
	Redirect     *TextRewrite
	CookieDomain *TextRewrite
	CookiePath   *TextRewrite
}

// TextRewrite is one nginx rewrite pair. With Regex nil, From is a literal
// that the value must start with (Location, Refresh, cookie path) or equal
// (cookie domain); the matched part becomes To. With Regex, a matching
// value is replaced whole by To.
type TextRewrite struct {
	From  string
	Regex *regexp.Regexp
	To    string
}
