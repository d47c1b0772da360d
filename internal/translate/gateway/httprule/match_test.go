package httprule

import "testing"

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"x-version": "X-Version", "X-ENV": "X-Env", "a": "A"} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q", in, want)
		}
	}
}
