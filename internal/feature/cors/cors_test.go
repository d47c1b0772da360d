package cors

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestParseOff(t *testing.T) {
	for _, kv := range [][]string{nil, {"enable-cors", "false"}, {"cors-allow-origin", "https://a.example"}} {
		r := annotest.Reader(kv...)
		if c := Parse(r); c != nil {
			t.Errorf("%v: CORS on: %+v", kv, c)
		}
		annotest.NoDiags(t, r)
	}
}

// TestParseDefaults: enable-cors alone gives ingress-nginx's defaults.
func TestParseDefaults(t *testing.T) {
	r := annotest.Reader("enable-cors", "true")
	c := Parse(r)
	annotest.NoDiags(t, r)
	if c == nil || !c.AnyOrigin || len(c.Origins) != 0 || c.AllowMethods != DefaultMethods || c.AllowHeaders != DefaultHeaders ||
		c.ExposeHeaders != "" || !c.AllowCredentials || c.MaxAge != DefaultMaxAge {
		t.Fatalf("%+v", c)
	}
	if !c.Allows("https://anything.example") {
		t.Error("any origin refused")
	}
}

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want func(*routecfg.CORS) bool
	}{
		{"methods", []string{"cors-allow-methods", "GET, POST"}, func(c *routecfg.CORS) bool { return c.AllowMethods == "GET, POST" }},
		{"headers", []string{"cors-allow-headers", "X-Forwarded-For, X-app123-XPTO"}, func(c *routecfg.CORS) bool {
			return c.AllowHeaders == "X-Forwarded-For, X-app123-XPTO"
		}},
		{"expose", []string{"cors-expose-headers", "X-Custom, *"}, func(c *routecfg.CORS) bool { return c.ExposeHeaders == "X-Custom, *" }},
		{"credentials off", []string{"cors-allow-credentials", "false"}, func(c *routecfg.CORS) bool { return !c.AllowCredentials }},
		{"max-age", []string{"cors-max-age", "600"}, func(c *routecfg.CORS) bool { return c.MaxAge == "600" }},
		{"max-age zero", []string{"cors-max-age", "0"}, func(c *routecfg.CORS) bool { return c.MaxAge == "0" }},
		{"star", []string{"cors-allow-origin", "*"}, func(c *routecfg.CORS) bool { return c.AnyOrigin }},
		{"star among others", []string{"cors-allow-origin", "https://a.example, *"}, func(c *routecfg.CORS) bool {
			return c.AnyOrigin && len(c.Origins) == 0
		}},
		{"origins", []string{"cors-allow-origin", "https://a.example, http://b.example:8080, https://*.c.example"}, func(c *routecfg.CORS) bool {
			return !c.AnyOrigin && len(c.Origins) == 3 &&
				c.Allows("https://a.example") && c.Allows("HTTPS://A.EXAMPLE") && c.Allows("http://b.example:8080") &&
				c.Allows("https://x.c.example") &&
				!c.Allows("http://a.example") && !c.Allows("https://a.example.evil") && !c.Allows("http://b.example") &&
				!c.Allows("https://x.y.c.example") && !c.Allows("https://c.example") && !c.Allows("")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(append([]string{"enable-cors", "true"}, tc.kv...)...)
			c := Parse(r)
			annotest.NoDiags(t, r)
			if c == nil || !tc.want(c) {
				t.Errorf("%+v", c)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		key, value string
		want       func(*routecfg.CORS) bool
	}{
		{"cors-allow-methods", "GET; DROP", func(c *routecfg.CORS) bool { return c.AllowMethods == DefaultMethods }},
		{"cors-allow-methods", "GET,POST\nX-Injected: 1", func(c *routecfg.CORS) bool { return c.AllowMethods == DefaultMethods }},
		{"cors-allow-headers", "X-A;B", func(c *routecfg.CORS) bool { return c.AllowHeaders == DefaultHeaders }},
		{"cors-allow-headers", "X-$host", func(c *routecfg.CORS) bool { return c.AllowHeaders == DefaultHeaders }},
		{"cors-expose-headers", "X-A B$", func(c *routecfg.CORS) bool { return c.ExposeHeaders == "" }},
		{"cors-allow-credentials", "sure", func(c *routecfg.CORS) bool { return c.AllowCredentials }},
		{"cors-max-age", "-1", func(c *routecfg.CORS) bool { return c.MaxAge == DefaultMaxAge }},
		{"cors-max-age", "ten", func(c *routecfg.CORS) bool { return c.MaxAge == DefaultMaxAge }},
		{"cors-max-age", "1.5", func(c *routecfg.CORS) bool { return c.MaxAge == DefaultMaxAge }},
		// A bad origin is skipped, and with nothing left no origin is
		// allowed (not "*"), as ingress-nginx.
		{"cors-allow-origin", "not-an-origin", func(c *routecfg.CORS) bool {
			return !c.AnyOrigin && len(c.Origins) == 0 && !c.Allows("https://a.example")
		}},
		{"cors-allow-origin", "https://a.example/path", func(c *routecfg.CORS) bool { return !c.AnyOrigin && len(c.Origins) == 0 }},
		{"cors-allow-origin", "https://*.*.example", func(c *routecfg.CORS) bool { return !c.AnyOrigin && len(c.Origins) == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader("enable-cors", "true", tc.key, tc.value)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if c == nil || !tc.want(c) {
				t.Errorf("default not kept: %+v", c)
			}
		})
	}
	// Only the bad origin of a list is skipped.
	r := annotest.Reader("enable-cors", "true", "cors-allow-origin", "https://ok.example, bad origin")
	c := Parse(r)
	annotest.WantDiag(t, r, "cors-allow-origin", "bad origin", "AnnotationInvalidValue")
	if len(c.Origins) != 1 || !c.Allows("https://ok.example") {
		t.Errorf("good origin lost: %+v", c)
	}
	// A bad enable-cors keeps CORS off.
	r = annotest.Reader("enable-cors", "yes")
	if c := Parse(r); c != nil {
		t.Errorf("enable-cors yes: %+v", c)
	}
	annotest.WantDiag(t, r, "enable-cors", "yes", "AnnotationInvalidValue")
}
