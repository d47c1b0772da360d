package redirect

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

func TestParseDefaults(t *testing.T) {
	r := annotest.Reader()
	c := Parse(r)
	annotest.NoDiags(t, r)
	if c.Redirect != nil || c.FromToWWW || c.AppRoot != "" {
		t.Fatalf("nothing set: %+v", c)
	}
}

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want func(Config) bool
	}{
		{"permanent, 301 by default", []string{"permanent-redirect", "https://new.example$request_uri"}, func(c Config) bool {
			return c.Redirect != nil && c.Redirect.URL == "https://new.example$request_uri" && c.Redirect.Code == 301 &&
				len(c.URL) == 2 && c.URL[1].Var == "request_uri"
		}},
		{"permanent with code", []string{"permanent-redirect", "http://a.example/", "permanent-redirect-code", "308"}, func(c Config) bool {
			return c.Redirect.URL == "http://a.example/" && c.Redirect.Code == 308
		}},
		{"temporal, 302 by default", []string{"temporal-redirect", "https://t.example/"}, func(c Config) bool {
			return c.Redirect.URL == "https://t.example/" && c.Redirect.Code == 302
		}},
		{"temporal wins over permanent", []string{"permanent-redirect", "https://p.example/", "temporal-redirect", "https://t.example/",
			"temporal-redirect-code", "307", "permanent-redirect-code", "301"}, func(c Config) bool {
			return c.Redirect.URL == "https://t.example/" && c.Redirect.Code == 307
		}},
		{"code bounds", []string{"permanent-redirect", "https://p.example/", "permanent-redirect-code", "300"}, func(c Config) bool {
			return c.Redirect.Code == 300
		}},
		{"from-to-www", []string{"from-to-www-redirect", "true"}, func(c Config) bool { return c.FromToWWW && c.Redirect == nil }},
		{"app-root", []string{"app-root", "/app1"}, func(c Config) bool { return c.AppRoot == "/app1" }},
		{"app-root with query", []string{"app-root", "/app1?x=1"}, func(c Config) bool { return c.AppRoot == "/app1?x=1" }},
		{"preserve-trailing-slash", []string{"preserve-trailing-slash", "true"}, func(c Config) bool {
			return c.Redirect != nil && c.Redirect.PreserveTrailingSlash && c.Redirect.URL == "" && !c.Redirect.UsePort
		}},
		{"use-port-in-redirects", []string{"use-port-in-redirects", "true"}, func(c Config) bool {
			return c.Redirect != nil && c.Redirect.UsePort && !c.Redirect.PreserveTrailingSlash
		}},
		{"relative-redirects", []string{"relative-redirects", "true"}, func(c Config) bool { return c.Redirect != nil && c.Redirect.Relative }},
		{"options false", []string{"preserve-trailing-slash", "false", "use-port-in-redirects", "false"}, func(c Config) bool { return c.Redirect == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(tc.kv...)
			c := Parse(r)
			annotest.NoDiags(t, r)
			if !tc.want(c) {
				t.Errorf("%+v (redirect %+v)", c, c.Redirect)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		key, value string
		// extra keys set alongside
		extra []string
		// what is kept
		want func(Config) bool
	}{
		{"permanent-redirect", "ftp://files.example/", nil, func(c Config) bool { return c.Redirect == nil }},
		{"permanent-redirect", "/relative/path", nil, func(c Config) bool { return c.Redirect == nil }},
		{"permanent-redirect", "https://", nil, func(c Config) bool { return c.Redirect == nil }},
		{"permanent-redirect", "https://x.example/$unknown_var", nil, func(c Config) bool { return c.Redirect == nil }},
		{"temporal-redirect", "example.com/x", nil, func(c Config) bool { return c.Redirect == nil }},
		// A bad temporal-redirect falls back to permanent-redirect.
		{"temporal-redirect", "/relative", []string{"permanent-redirect", "https://p.example/"}, func(c Config) bool {
			return c.Redirect.URL == "https://p.example/" && c.Redirect.Code == 301
		}},
		{"permanent-redirect-code", "299", []string{"permanent-redirect", "https://p.example/"}, func(c Config) bool { return c.Redirect.Code == 301 }},
		{"permanent-redirect-code", "309", []string{"permanent-redirect", "https://p.example/"}, func(c Config) bool { return c.Redirect.Code == 301 }},
		{"permanent-redirect-code", "moved", []string{"permanent-redirect", "https://p.example/"}, func(c Config) bool { return c.Redirect.Code == 301 }},
		{"temporal-redirect-code", "404", []string{"temporal-redirect", "https://t.example/"}, func(c Config) bool { return c.Redirect.Code == 302 }},
		// A bad code is reported even when its URL is not set (or loses
		// to temporal-redirect): never a silent zero.
		{"permanent-redirect-code", "abc", nil, func(c Config) bool { return c.Redirect == nil }},
		{"permanent-redirect-code", "200", []string{"temporal-redirect", "https://t.example/"}, func(c Config) bool {
			return c.Redirect.URL == "https://t.example/" && c.Redirect.Code == 302
		}},
		{"from-to-www-redirect", "yes", nil, func(c Config) bool { return !c.FromToWWW }},
		{"app-root", "app1", nil, func(c Config) bool { return c.AppRoot == "" }},
		{"app-root", "https://other.example/app", nil, func(c Config) bool { return c.AppRoot == "" }},
		{"app-root", "//other.example/app", nil, func(c Config) bool { return c.AppRoot == "" }},
		{"app-root", "/a b", nil, func(c Config) bool { return c.AppRoot == "" }},
		{"app-root", "/$host", nil, func(c Config) bool { return c.AppRoot == "" }},
		{"preserve-trailing-slash", "on", nil, func(c Config) bool { return c.Redirect == nil }},
		{"use-port-in-redirects", "1x", nil, func(c Config) bool { return c.Redirect == nil }},
		{"relative-redirects", "nah", nil, func(c Config) bool { return c.Redirect == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader(append([]string{tc.key, tc.value}, tc.extra...)...)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if !tc.want(c) {
				t.Errorf("default not kept: %+v (redirect %+v)", c, c.Redirect)
			}
		})
	}
}
