package errorpages

import (
	"slices"
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
		{"default-backend", []string{"default-backend", " errors "}, Config{DefaultBackend: "errors"}},
		{"codes", []string{"custom-http-errors", "404, 503,500"}, Config{Codes: []int{404, 503, 500}, CodesSet: true}},
		{"bounds", []string{"custom-http-errors", "300,599"}, Config{Codes: []int{300, 599}, CodesSet: true}},
		// An empty value is ignored, as ingress-nginx's parser does: the
		// ConfigMap's codes stay in force.
		{"empty list", []string{"custom-http-errors", ""}, Config{}},
		{"blank list", []string{"custom-http-errors", " "}, Config{}},
		{"no intercept", []string{"disable-proxy-intercept-errors", "true"}, Config{NoIntercept: true}},
		{"intercept", []string{"disable-proxy-intercept-errors", "false"}, Config{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := annotest.Reader(tc.kv...)
			c := Parse(r)
			annotest.NoDiags(t, r)
			if c.DefaultBackend != tc.want.DefaultBackend || !slices.Equal(c.Codes, tc.want.Codes) || c.CodesSet != tc.want.CodesSet ||
				c.NoIntercept != tc.want.NoIntercept {
				t.Errorf("got %+v, want %+v", c, tc.want)
			}
		})
	}
}

// TestParseBad: a bad list is ignored whole (the ConfigMap's codes stay
// in force), a bad bool keeps interception on.
func TestParseBad(t *testing.T) {
	cases := []struct{ key, value string }{
		{"custom-http-errors", "404,abc"},
		{"custom-http-errors", "200"},
		{"custom-http-errors", "600"},
		{"custom-http-errors", "404;503"},
		{"custom-http-errors", "4O4"},
		{"disable-proxy-intercept-errors", "nah"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := annotest.Reader(tc.key, tc.value)
			c := Parse(r)
			annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
			if c.CodesSet || len(c.Codes) != 0 || c.NoIntercept {
				t.Errorf("default not kept: %+v", c)
			}
		})
	}
}
