package rewrite

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
		if got := ModifyPath(&c.m, c.path); got != c.want {
			t.Errorf("%+v on %q: got %q, want %q", c.m, c.path, got, c.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "/a/b": "/a/b", "/a/b/": "/a/b/", "//a": "/a", "/a//b/": "/a/b/",
		"/a/./b": "/a/b", "/a/../b": "/b", "/..": "/", "/a/..": "/", "/a/.b": "/a/.b",
		"/a/..b/": "/a/..b/", "*": "*", "/.well-known/x": "/.well-known/x",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}
