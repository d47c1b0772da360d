package authexternal

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestParseOff(t *testing.T) {
	r := annotest.Reader()
	c := Parse(r)
	annotest.NoDiags(t, r)
	if c.Settings.URL != "" || !c.GlobalAuth || c.ProxySetHeaders != "" {
		t.Fatalf("%+v", c)
	}
	c = Parse(annotest.Reader("enable-global-auth", "false"))
	if c.GlobalAuth {
		t.Fatal("enable-global-auth false ignored")
	}
}

func TestParseGood(t *testing.T) {
	r := annotest.Reader(
		"auth-url", " https://auth.example/check?u=$request_uri ",
		"auth-method", "POST",
		"auth-signin", "https://login.example/start",
		"auth-signin-redirect-param", "orig",
		"auth-response-headers", "X-User, X-Email,,",
		"auth-request-redirect", "https://app.example/landing",
		"auth-proxy-set-headers", "auth-headers",
		"auth-cache-key", "$remote_addr$http_authorization",
		"auth-cache-duration", "200 202 10m, 401 1m",
		"auth-always-set-cookie", "true",
		"auth-keepalive", "10",
		"auth-keepalive-requests", "100",
		"auth-keepalive-timeout", "30",
		"auth-keepalive-share-vars", "true",
	)
	c := Parse(r)
	annotest.NoDiags(t, r)
	want := Settings{URL: "https://auth.example/check?u=$request_uri", Method: "POST", Signin: "https://login.example/start",
		SigninParam: "orig", RequestRedirect: "https://app.example/landing", CacheKey: "$remote_addr$http_authorization",
		CacheDuration: "200 202 10m, 401 1m", ResponseHeaders: []string{"X-User", "X-Email"}, AlwaysSetCookie: true}
	s := c.Settings
	if s.URL != want.URL || s.Method != want.Method || s.Signin != want.Signin || s.SigninParam != want.SigninParam ||
		s.RequestRedirect != want.RequestRedirect || s.CacheKey != want.CacheKey || s.CacheDuration != want.CacheDuration ||
		!slices.Equal(s.ResponseHeaders, want.ResponseHeaders) || s.AlwaysSetCookie != want.AlwaysSetCookie {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if c.ProxySetHeaders != "auth-headers" || !c.GlobalAuth {
		t.Errorf("%+v", c)
	}
	// Defaults.
	c = Parse(annotest.Reader("auth-url", "http://auth.example/"))
	if c.Settings.SigninParam != "rd" || c.Settings.CacheDuration != "200 202 401 5m" || c.Settings.AlwaysSetCookie || c.Settings.Method != "" {
		t.Errorf("defaults: %+v", c.Settings)
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct{ key, value string }{
		{"enable-global-auth", "maybe"},
		{"auth-always-set-cookie", "yes"},
		{"auth-keepalive", "-1"},
		{"auth-keepalive", "many"},
		{"auth-keepalive-requests", "0"},
		{"auth-keepalive-timeout", "1m"},
		{"auth-keepalive-share-vars", "sometimes"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader("auth-url", "http://auth.example/", tc.key, tc.value)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if !c.GlobalAuth || c.Settings.AlwaysSetCookie {
				t.Errorf("default not kept: %+v", c)
			}
		})
	}
}

type badCall struct{ key, value string }

func build(s Settings) (*routecfg.ExternalAuth, []badCall) {
	var calls []badCall
	a := Build(s, func(key, value, why string) {
		if why == "" {
			panic("no reason given for " + key)
		}
		calls = append(calls, badCall{key, value})
	})
	return a, calls
}

func TestBuildGood(t *testing.T) {
	a, bad := build(Settings{URL: "https://auth.example/check?u=$request_uri", Method: "GET", Signin: "https://login.example/start",
		ResponseHeaders: []string{"X-User"}, RequestRedirect: "https://app.example$request_uri", AlwaysSetCookie: true,
		CacheKey: "$remote_addr", CacheDuration: "200 202 10m, 401 1m, any 5"})
	if len(bad) != 0 {
		t.Fatalf("bad: %v", bad)
	}
	if a.URL.String() != "https://auth.example/check?u=${request_uri}" || a.Method != "GET" || !a.AlwaysSetCookie ||
		!slices.Equal(a.ResponseHeaders, []string{"X-User"}) || a.RequestRedirect.String() != "https://app.example${request_uri}" ||
		!slices.Equal(a.CacheKey, []routecfg.HashPart{{Source: routecfg.HashRemoteAddr}}) {
		t.Errorf("%+v", a)
	}
	// auth-signin gets rd=<original URL>, as ingress-nginx's buildAuthSignURL.
	if got := a.Signin.String(); got != "https://login.example/start?rd=${pass_access_scheme}://${http_host}${escaped_request_uri}" {
		t.Errorf("signin %q", got)
	}
	want := []routecfg.CacheRule{{Codes: []int{200, 202}, TTL: 10 * time.Minute}, {Codes: []int{401}, TTL: time.Minute}, {Any: true, TTL: 5 * time.Second}}
	if len(a.CacheRules) != len(want) {
		t.Fatalf("rules %+v", a.CacheRules)
	}
	for i, w := range want {
		g := a.CacheRules[i]
		if !slices.Equal(g.Codes, w.Codes) || g.Any != w.Any || g.TTL != w.TTL {
			t.Errorf("rule %d: %+v, want %+v", i, g, w)
		}
	}

	// An empty auth-cache-duration is the default.
	a, bad = build(Settings{URL: "http://auth.example/", CacheKey: "$host", CacheDuration: ""})
	if len(bad) != 0 || len(a.CacheRules) != 1 || !slices.Equal(a.CacheRules[0].Codes, []int{200, 202, 401}) || a.CacheRules[0].TTL != 5*time.Minute {
		t.Errorf("empty duration: %+v %v", a.CacheRules, bad)
	}

	for _, tc := range []struct{ signin, param, want string }{
		{"https://login.example/start?x=1", "", "https://login.example/start?x=1&rd=${pass_access_scheme}://${http_host}${escaped_request_uri}"},
		{"https://login.example/start?rd=https://fixed.example/", "", "https://login.example/start?rd=https://fixed.example/"},
		{"https://login.example/start", "orig", "https://login.example/start?orig=${pass_access_scheme}://${http_host}${escaped_request_uri}"},
	} {
		a, bad := build(Settings{URL: "http://auth.example/", Signin: tc.signin, SigninParam: tc.param})
		if len(bad) != 0 || a.Signin.String() != tc.want {
			t.Errorf("signin %q param %q: %q %v", tc.signin, tc.param, a.Signin.String(), bad)
		}
	}
}

// TestBuildBad: a bad auth-url denies the paths (nil); any other bad
// value is reported and left out, auth itself stays on.
func TestBuildBad(t *testing.T) {
	base := Settings{URL: "http://auth.example/check", CacheDuration: "200 202 401 5m"}
	cases := []struct {
		key, value string
		set        func(*Settings)
		check      func(*routecfg.ExternalAuth) bool
	}{
		{"auth-url", "/relative", func(s *Settings) { s.URL = "/relative" }, nil},
		{"auth-url", "ftp://auth.example/", func(s *Settings) { s.URL = "ftp://auth.example/" }, nil},
		{"auth-url", "http://", func(s *Settings) { s.URL = "http://" }, nil},
		{"auth-url", "http://auth.example/$secret", func(s *Settings) { s.URL = "http://auth.example/$secret" }, nil},
		{"auth-method", "FETCH", func(s *Settings) { s.Method = "FETCH" }, func(a *routecfg.ExternalAuth) bool { return a.Method == "" }},
		{"auth-method", "get", func(s *Settings) { s.Method = "get" }, func(a *routecfg.ExternalAuth) bool { return a.Method == "" }},
		{"auth-signin", "/login", func(s *Settings) { s.Signin = "/login" }, func(a *routecfg.ExternalAuth) bool { return a.Signin.IsZero() }},
		{"auth-signin", "https://login.example/$nope", func(s *Settings) { s.Signin = "https://login.example/$nope" },
			func(a *routecfg.ExternalAuth) bool { return a.Signin.IsZero() }},
		{"auth-response-headers", "X Bad", func(s *Settings) { s.ResponseHeaders = []string{"X-Good", "X Bad"} }, nil},
		{"auth-request-redirect", "https://app.example/$nope", func(s *Settings) { s.RequestRedirect = "https://app.example/$nope" },
			func(a *routecfg.ExternalAuth) bool { return a.RequestRedirect.IsZero() }},
		{"auth-cache-key", "$", func(s *Settings) { s.CacheKey = "$" }, func(a *routecfg.ExternalAuth) bool { return a.CacheKey == nil }},
		{"auth-cache-key", "$upstream_addr", func(s *Settings) { s.CacheKey = "$upstream_addr" }, func(a *routecfg.ExternalAuth) bool { return a.CacheKey == nil }},
		{"auth-cache-key", "${cookie_sid", func(s *Settings) { s.CacheKey = "${cookie_sid" }, func(a *routecfg.ExternalAuth) bool { return a.CacheKey == nil }},
		// ingress-nginx denies the location for a bad duration, with or
		// without auth-cache-key.
		{"auth-cache-duration", "200 soon", func(s *Settings) { s.CacheKey = "$remote_addr"; s.CacheDuration = "200 soon" }, nil},
		{"auth-cache-duration", "999 5m", func(s *Settings) { s.CacheKey = "$remote_addr"; s.CacheDuration = "999 5m" }, nil},
		{"auth-cache-duration", "forever", func(s *Settings) { s.CacheDuration = "forever" }, nil},
		{"auth-keepalive", "5", func(s *Settings) {
			s.URL = "http://$host/auth"
			s.Keepalive = Keepalive{Conns: 5, Requests: 10, Timeout: 1}
		},
			func(a *routecfg.ExternalAuth) bool { return a.Keepalive == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			s := base
			tc.set(&s)
			a, bad := build(s)
			if len(bad) != 1 || bad[0] != (badCall{tc.key, tc.value}) {
				t.Fatalf("bad calls %v, want one for %s=%q", bad, tc.key, tc.value)
			}
			if tc.check == nil {
				if a != nil {
					t.Errorf("must deny (nil), got %+v", a)
				}
				return
			}
			if a == nil || !tc.check(a) {
				t.Errorf("got %+v", a)
			}
		})
	}
}

func TestParseCacheDuration(t *testing.T) {
	rules, err := ParseCacheDuration("5m")
	if err != nil || len(rules) != 1 || !slices.Equal(rules[0].Codes, []int{200, 301, 302}) || rules[0].TTL != 5*time.Minute {
		t.Errorf("%+v %v", rules, err)
	}
	rules, err = ParseCacheDuration("any 1h, 404 30s, 500 2d")
	if err != nil || len(rules) != 3 || !rules[0].Any || rules[0].TTL != time.Hour || rules[1].TTL != 30*time.Second || rules[2].TTL != 48*time.Hour {
		t.Errorf("%+v %v", rules, err)
	}
	for _, bad := range []string{"", " , ", "200 m", "abc 5m", "99 5m", "200 -5m"} {
		if _, err := ParseCacheDuration(bad); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), "%!") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestCacheKeyVariables: the variables ingress-nginx users put in
// auth-cache-key, and literal text (one answer for every client).
func TestCacheKeyVariables(t *testing.T) {
	for key, want := range map[string][]routecfg.HashPart{
		"$remote_user$http_authorization": {{Source: routecfg.HashRemoteUser}, {Source: routecfg.HashHeader, Name: "Authorization"}},
		"$cookie_session-$host":           {{Source: routecfg.HashCookie, Name: "session"}, {Source: routecfg.HashLiteral, Name: "-"}, {Source: routecfg.HashHost}},
		"${http_x_api_key}$request_uri":   {{Source: routecfg.HashHeader, Name: "X-Api-Key"}, {Source: routecfg.HashRequestURI}},
		"foo":                             {{Source: routecfg.HashLiteral, Name: "foo"}},
	} {
		a, bad := build(Settings{URL: "http://auth.example/", CacheKey: key})
		if len(bad) != 0 || !slices.Equal(a.CacheKey, want) {
			t.Errorf("%q: %+v %v", key, a.CacheKey, bad)
		}
	}
}

// TestKeepalive: auth-keepalive and its options, ingress-nginx's rules for
// turning it off.
func TestKeepalive(t *testing.T) {
	r := annotest.Reader("auth-url", "http://auth.example/", "auth-keepalive", "5", "auth-keepalive-requests", "7", "auth-keepalive-timeout", "9", "auth-keepalive-share-vars", "true")
	c := Parse(r)
	annotest.NoDiags(t, r)
	a, bad := build(c.Settings)
	if len(bad) != 0 || a.Keepalive == nil || *a.Keepalive != (routecfg.AuthKeepalive{Conns: 5, Requests: 7, Timeout: 9 * time.Second, ShareVars: true}) {
		t.Errorf("%+v %v", a.Keepalive, bad)
	}
	// The default: no keepalive.
	if a, _ := build(Parse(annotest.Reader("auth-url", "http://auth.example/")).Settings); a.Keepalive != nil {
		t.Errorf("default keepalive %+v", a.Keepalive)
	}
	// Requests or timeout of 0 turn keepalive off, reported.
	for _, key := range []string{"auth-keepalive-requests", "auth-keepalive-timeout"} {
		r := annotest.Reader("auth-url", "http://auth.example/", "auth-keepalive", "5", key, "0")
		c := Parse(r)
		annotest.WantDiag(t, r, key, "0", "AnnotationInvalidValue")
		if a, _ := build(c.Settings); a.Keepalive != nil {
			t.Errorf("%s 0: keepalive %+v", key, a.Keepalive)
		}
	}
}
