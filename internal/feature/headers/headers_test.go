package headers

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want Config
	}{
		{"nothing", nil, Config{}},
		{"custom-headers", []string{"custom-headers", "my-headers"}, Config{CustomHeaders: "my-headers"}},
		{"custom-headers with namespace", []string{"custom-headers", "web/my-headers"}, Config{CustomHeaders: "web/my-headers"}},
		{"connection", []string{"connection-proxy-header", "keep-alive"}, Config{Connection: "keep-alive"}},
		{"connection list", []string{"connection-proxy-header", "close, X-Foo"}, Config{Connection: "close, X-Foo"}},
		{"http 1.0", []string{"proxy-http-version", "1.0"}, Config{HTTP10: true}},
		{"http 1.1", []string{"proxy-http-version", "1.1"}, Config{}},
		{"x-forwarded-prefix", []string{"x-forwarded-prefix", "/api"}, Config{XForwardedPrefix: "/api"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(tc.kv...)
			c := Parse(r)
			annotest.NoDiags(t, r)
			if c != tc.want {
				t.Errorf("got %+v, want %+v", c, tc.want)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct{ key, value string }{
		{"connection-proxy-header", "close;rm -rf"},
		{"connection-proxy-header", "upgrade\r\nX-Evil: 1"},
		{"connection-proxy-header", "$http_connection"},
		{"proxy-http-version", "2"},
		{"proxy-http-version", "1"},
		{"proxy-http-version", "HTTP/1.0"},
		{"x-forwarded-prefix", "$host"},
		{"x-forwarded-prefix", "/a\x01b"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader(tc.key, tc.value)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if c != (Config{}) {
				t.Errorf("default not kept: %+v", c)
			}
		})
	}
}
