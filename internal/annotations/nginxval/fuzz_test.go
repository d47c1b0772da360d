package nginxval

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
)

// FuzzValues: every nginx value syntax of this package takes any string
// without panicking; a value is either used (no diagnostic) or reported
// with the default kept, never both; sizes are never negative.
func FuzzValues(f *testing.F) {
	for _, s := range []string{"1m", "8k", "512", "1g", "1b", " 10 ", "-1", "9999999999999999999g", "1.5", "60s", "on", "", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if n, err := nginx.ParseSize(v); err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", v, n)
		}
		r := annotations.NewReader("", map[string]string{annotations.DefaultPrefix + "/k": v}, diag.ObjectRef{Kind: "Ingress", Name: "f"})
		check := func(what string, used bool) {
			t.Helper()
			if used == (len(r.Diags) > 0) && used {
				t.Fatalf("%s(%q): used and reported: %v", what, v, r.Diags)
			}
			for _, d := range r.Diags {
				if !strings.Contains(d.Field, "k") {
					t.Fatalf("%s(%q): diagnostic does not name the key: %+v", what, v, d)
				}
			}
			r.Diags = nil
		}
		if n, ok := Size(r, "k", 1); ok && n < 0 {
			t.Fatalf("Size(%q) = %d", v, n)
		} else {
			check("Size", ok && n != 1)
		}
		n, ok := Int(r, "k", 7, -5, 100)
		if ok && (n < -5 || n > 100) {
			t.Fatalf("Int(%q) = %d outside its range", v, n)
		}
		r.Diags = nil
		if d, ok := Seconds(r, "k", 3); ok && d < 0 {
			t.Fatalf("Seconds(%q) = %v", v, d)
		}
		r.Diags = nil
		OneOf(r, "k", "a", "a", "b")
		r.Diags = nil
		Set(r, "k", "other")
	})
}
