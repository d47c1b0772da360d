package router

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzQueryValue: queryValue reads raw client bytes. It never panics, and
// where net/url parses the whole query without error it agrees with it on
// the first value of the parameter.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a=1&a=2", "%61=x", "a=%zz", "a", "=&&=", "a=x+y%20z", "b=1&a"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := queryValue(raw, name)
		if strings.Contains(raw, ";") {
			return // net/url refuses semicolons; queryValue treats them as data
		}
		vs, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		want, wantOK := vs[name]
		if ok != wantOK || (ok && got != want[0]) {
			t.Errorf("queryValue(%q, %q) = %q, %v; net/url: %q", raw, name, got, ok, want)
		}
	})
}
