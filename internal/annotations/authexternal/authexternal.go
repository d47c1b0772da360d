// Package authexternal parses ingress-nginx's external authentication
// annotations (auth-url and friends).
package authexternal

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/balance"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "auth-url", Status: annotations.Supported,
		Doc: "Ask this URL first: a sub-request with the original method and headers and no body; 2xx lets the request through, 401 and 403 are returned, anything else is 500. Request variables ($host, $request_uri, ...) are expanded."},
	{Name: "auth-method", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Method of the auth sub-request instead of the original one."},
	{Name: "auth-signin", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "On 401, redirect (302) here with rd=<original URL> appended unless the URL already has it."},
	{Name: "auth-signin-redirect-param", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Name of the parameter auth-signin adds (default rd)."},
	{Name: "auth-response-headers", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Comma-separated headers copied from the auth response to the upstream request (a client's own copies are dropped)."},
	{Name: "auth-request-redirect", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Value of X-Auth-Request-Redirect on the sub-request (default: the request URI)."},
	{Name: "auth-proxy-set-headers", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "ConfigMap (same namespace) whose entries are set as headers on the auth sub-request; values may use request variables."},
	{Name: "auth-cache-key", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Cache the auth service's answers per location (host and path) and per the value of this key: literal text and the nginx variables $remote_user, $http_NAME (e.g. $http_authorization), $cookie_NAME, $arg_NAME, $host, $request_uri, $uri, $args, $remote_addr, $scheme and $request_method; any other variable is reported and nothing is cached. A cached answer (its status and auth-response-headers) decides without asking the service. At most 10,000 answers; one unused for 30 minutes is dropped (ingress-nginx's auth_cache zone: inactive=30m)."},
	{Name: "auth-cache-duration", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "nginx proxy_cache_valid entries separated by commas, `[code ...|any] time` (default `200 202 401 5m`; without codes 200 301 302). As nginx, the auth answer's X-Accel-Expires, then Cache-Control s-maxage / max-age, then Expires win over it; answers with Set-Cookie, Vary: * or Cache-Control no-cache, no-store or private are not cached."},
	{Name: "auth-always-set-cookie", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Pass the auth response's Set-Cookie on every response, not only 2xx and 3xx ones."},
	{Name: "auth-keepalive", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Idle connections kept to the auth service. 0 (default): a new connection per auth request, with Connection: close, as nginx's auth location. Above 0, ingress-nginx's keepalive mode (a Lua subrequest): the sub-request is a GET unless auth-method says otherwise, only 200 lets the request through (other 2xx answer 500) and a 401 carries no WWW-Authenticate. Off when the auth-url host has a variable."},
	{Name: "auth-keepalive-requests", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Requests one keepalive connection carries before it is closed (default 1000); 0 or less turns auth-keepalive off, as in ingress-nginx."},
	{Name: "auth-keepalive-timeout", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "Seconds an idle keepalive connection stays open (default 60); 0 or less turns auth-keepalive off, as in ingress-nginx."},
	{Name: "auth-keepalive-share-vars", Needs: annotations.Requires("auth-url", "AuthURLMissing"), Status: annotations.Supported,
		Doc: "With auth-keepalive: true sends the request's own X-Request-ID to the auth service; false (default) evaluates it again, as the Lua subrequest's own variables: the client's X-Request-ID if it sent one, else a new ID."},
	{Name: "auth-snippet", Status: annotations.Refused,
		Doc: "Raw nginx configuration for the auth sub-request; moat never takes nginx directives (and it is Critical risk)."},
	{Name: "enable-global-auth", Status: annotations.Supported,
		Doc: "false opts the Ingress out of the ConfigMap's global-auth-url (default true)."},
}

// defaultCacheDuration is ingress-nginx's auth-cache-duration default.
const defaultCacheDuration = "200 202 401 5m"

// Settings are the values shared by auth-* and the ConfigMap's global-auth-*.
type Settings struct {
	URL, Method, Signin, SigninParam, RequestRedirect, CacheKey, CacheDuration string
	ResponseHeaders                                                            []string
	AlwaysSetCookie                                                            bool
	Keepalive                                                                  Keepalive
}

// Keepalive is auth-keepalive and its options (seconds for Timeout).
type Keepalive struct {
	Conns, Requests, Timeout int
	ShareVars                bool
}

// Config is the parsed family.
type Config struct {
	Settings Settings
	// ProxySetHeaders names the ConfigMap for auth-proxy-set-headers.
	ProxySetHeaders string
	// GlobalAuth is enable-global-auth.
	GlobalAuth bool
	// Denied is set when auth-url is set but unusable: ingress-nginx then
	// denies the location rather than serve it unauthenticated.
	Denied string
}

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	c := Config{GlobalAuth: r.Bool("enable-global-auth", true)}
	keep := Keepalive{
		Conns:     r.Int("auth-keepalive", 0, 0, 1<<20),
		Requests:  r.Int("auth-keepalive-requests", 1000, -1<<30, 1<<30),
		Timeout:   r.Int("auth-keepalive-timeout", 60, -1<<30, 1<<20),
		ShareVars: r.Bool("auth-keepalive-share-vars", false),
	}
	// ingress-nginx turns keepalive off when either bound is not
	// positive.
	for _, kv := range []struct {
		key string
		n   int
	}{{"auth-keepalive-requests", keep.Requests}, {"auth-keepalive-timeout", keep.Timeout}} {
		if kv.n <= 0 {
			r.Invalid(kv.key, strconv.Itoa(kv.n), "must be greater than zero; auth-keepalive is off, as in ingress-nginx")
			keep.Conns = 0
		}
	}
	v, ok := r.Raw("auth-url")
	if !ok {
		return c
	}
	s := Settings{
		URL:             strings.TrimSpace(v),
		Method:          r.String("auth-method", ""),
		Signin:          r.String("auth-signin", ""),
		SigninParam:     r.String("auth-signin-redirect-param", "rd"),
		RequestRedirect: r.String("auth-request-redirect", ""),
		CacheKey:        r.String("auth-cache-key", ""),
		CacheDuration:   r.String("auth-cache-duration", defaultCacheDuration),
		ResponseHeaders: nginx.SplitList(r.String("auth-response-headers", "")),
		AlwaysSetCookie: r.Bool("auth-always-set-cookie", false),
		Keepalive:       keep,
	}
	c.Settings = s
	c.ProxySetHeaders = r.String("auth-proxy-set-headers", "")
	return c
}

// Build checks settings and turns them into the route's ExternalAuth. bad
// is called with the key (without prefix), value and reason of each
// problem; a nil result means auth is unusable and the location must be
// denied.
func Build(s Settings, bad func(key, value, why string)) *routecfg.ExternalAuth {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("auth-url", s.URL, "expected an absolute http:// or https:// URL; the paths are denied (503)")
		return nil
	}
	a := &routecfg.ExternalAuth{Method: s.Method, AlwaysSetCookie: s.AlwaysSetCookie}
	if k := s.Keepalive; k.Conns > 0 {
		if strings.Contains(u.Host, "$") {
			// An nginx upstream block cannot name a variable host.
			bad("auth-keepalive", strconv.Itoa(k.Conns), "the auth-url host has a variable; keepalive is off, as in ingress-nginx")
		} else {
			a.Keepalive = &routecfg.AuthKeepalive{Conns: k.Conns, Requests: k.Requests, Timeout: time.Duration(k.Timeout) * time.Second, ShareVars: k.ShareVars}
		}
	}
	if a.URL, err = annotations.ParseTemplate(s.URL); err != nil {
		bad("auth-url", s.URL, err.Error()+"; the paths are denied (503)")
		return nil
	}
	switch s.Method {
	case "", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		bad("auth-method", s.Method, "expected an HTTP method such as GET or POST")
		a.Method = ""
	}
	if s.Signin != "" {
		if su, err := url.Parse(s.Signin); err != nil || (su.Scheme != "http" && su.Scheme != "https") {
			bad("auth-signin", s.Signin, "expected an absolute http:// or https:// URL; 401 is returned instead")
		} else if t, err := annotations.ParseTemplate(signinURL(s.Signin, su, s.SigninParam)); err != nil {
			bad("auth-signin", s.Signin, err.Error())
		} else {
			a.Signin = t
		}
	}
	for _, h := range s.ResponseHeaders {
		if !nginx.ValidHeaderName(h) {
			// ingress-nginx: "invalid headers list", location denied.
			bad("auth-response-headers", h, "not a header name; the paths are denied (503), as in ingress-nginx")
			return nil
		}
		a.ResponseHeaders = append(a.ResponseHeaders, h)
	}
	if s.RequestRedirect != "" {
		if a.RequestRedirect, err = annotations.ParseTemplate(s.RequestRedirect); err != nil {
			bad("auth-request-redirect", s.RequestRedirect, err.Error())
		}
	}
	// The duration is checked even without a cache key, as ingress-nginx's
	// ParseStringToCacheDurations, whose error denies the location; empty
	// is the default.
	dur := s.CacheDuration
	if strings.TrimSpace(dur) == "" {
		dur = defaultCacheDuration
	}
	rules, derr := ParseCacheDuration(dur)
	if derr != nil {
		bad("auth-cache-duration", s.CacheDuration, derr.Error()+"; the paths are denied (503), as in ingress-nginx")
		return nil
	}
	if s.CacheKey != "" {
		if a.CacheKey, err = balance.ParseVarString(s.CacheKey); err != nil {
			bad("auth-cache-key", s.CacheKey, err.Error()+"; answers are not cached")
		} else {
			a.CacheRules = rules
		}
	}
	return a
}

// signinURL appends the redirect parameter as ingress-nginx's
// buildAuthSignURL: $pass_access_scheme://$http_host$escaped_request_uri,
// unless the URL already carries the parameter.
func signinURL(raw string, u *url.URL, param string) string {
	if param == "" {
		param = "rd"
	}
	q := u.Query()
	if q.Get(param) != "" {
		return raw
	}
	sep := "?"
	if len(q) > 0 || strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + param + "=${pass_access_scheme}://${http_host}${escaped_request_uri}"
}

// ParseCacheDuration parses nginx proxy_cache_valid entries separated by
// commas: "[code ...|any] time".
func ParseCacheDuration(v string) ([]routecfg.CacheRule, error) {
	var out []routecfg.CacheRule
	for _, entry := range nginx.SplitList(v) {
		f := strings.Fields(entry)
		d, err := nginxTime(f[len(f)-1])
		if err != nil {
			return nil, err
		}
		rule := routecfg.CacheRule{TTL: d}
		for _, c := range f[:len(f)-1] {
			if c == "any" {
				rule.Any = true
				continue
			}
			n, err := strconv.Atoi(c)
			if err != nil || n < 100 || n > 599 {
				return nil, errorf("%q is not a status code or any", c)
			}
			rule.Codes = append(rule.Codes, n)
		}
		if len(rule.Codes) == 0 && !rule.Any {
			rule.Codes = []int{200, 301, 302}
		}
		out = append(out, rule)
	}
	if len(out) == 0 {
		return nil, errorf("no duration")
	}
	return out, nil
}

func nginxTime(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	unit := time.Second
	if u, ok := units[s[len(s)-1]]; ok {
		unit, s = u, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errorf("%q is not an nginx time such as 5m", s)
	}
	return time.Duration(n) * unit, nil
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
