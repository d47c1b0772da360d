package serveralias

import (
	"slices"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		value string
		want  []string
	}{
		{"alias.example", []string{"alias.example"}},
		{"a.example, *.b.example,,C.Example.", []string{"a.example", "*.b.example", "c.example"}},
		{"localhost", []string{"localhost"}},
	}
	for _, tc := range cases {
		r := annotest.Reader("server-alias", tc.value)
		got := Parse(r)
		annotest.NoDiags(t, r)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.value, got, tc.want)
		}
	}
	if got := Parse(annotest.Reader()); got != nil {
		t.Errorf("unset: %q", got)
	}
}

// TestParseBad: a bad name is skipped (and named), the others are kept.
func TestParseBad(t *testing.T) {
	for _, bad := range []string{"bad_host", "*", "a..b", "*.*.example", "-a.example", "a.example:8080", "a/b", "~^www\\.(.+)$"} {
		r := annotest.Reader("server-alias", "ok.example, "+bad)
		got := Parse(r)
		annotest.WantDiag(t, r, "server-alias", bad, "AnnotationInvalidValue")
		if !slices.Equal(got, []string{"ok.example"}) {
			t.Errorf("%q: got %q", bad, got)
		}
	}
}
