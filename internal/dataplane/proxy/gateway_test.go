package proxy

import (
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Gateway API's ReplacePrefixMatch and ReplaceFullPath, with the examples
// of HTTPPathModifier's documentation.
func TestModifyPath(t *testing.T) {
	for _, c := range []struct {
		m          routecfg.PathModifier
		path, want string
	}{
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/xyz"}, "/foo/bar", "/xyz/bar"},
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/xyz/"}, "/foo/bar", "/xyz/bar"},
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/xyz"}, "/foo", "/xyz"},
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/xyz"}, "/foo/", "/xyz/"},
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/"}, "/foo/bar", "/bar"},
		{routecfg.PathModifier{Prefix: true, Match: "/foo", Value: "/"}, "/foo", "/"},
		{routecfg.PathModifier{Prefix: true, Match: "/", Value: "/xyz"}, "/foo", "/xyz/foo"},
		{routecfg.PathModifier{Value: "/full"}, "/foo/bar", "/full"},
	} {
		if got := modifyPath(&c.m, c.path); got != c.want {
			t.Errorf("%+v on %q: got %q, want %q", c.m, c.path, got, c.want)
		}
	}
}

func TestPickBackend(t *testing.T) {
	if p, s, _ := pickBackend([]routecfg.Backend{{Pool: "a", Weight: 0}}); p != "" || s != 500 {
		t.Errorf("zero weight: %q %d", p, s)
	}
	if p, s, _ := pickBackend([]routecfg.Backend{{Status: 500, Weight: 1}}); p != "" || s != 500 {
		t.Errorf("invalid backend: %q %d", p, s)
	}
	n := map[string]int{}
	for range 4000 {
		p, _, _ := pickBackend([]routecfg.Backend{{Pool: "a", Weight: 1}, {Pool: "b", Weight: 3}, {Pool: "c", Weight: 0}})
		n[p]++
	}
	// 1000 expected for a: a bound far outside chance (p < 1e-9).
	if n["c"] != 0 || n["a"] < 800 || n["a"] > 1200 {
		t.Errorf("weights 1:3:0 gave %v", n)
	}
}
