package router

import (
	"regexp"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestLiteralPrefix(t *testing.T) {
	tests := []struct {
		expr    string
		lit     string
		fold    bool
		litOnly bool
	}{
		{"(?i)^/api", "/API", true, true},
		{"(?i)^/something(/|$)(.*)", "/SOMETHING", true, false},
		{"(?i)^/foos?x", "/FOO", true, false},
		{"(?i)^/id/[0-9]+", "/ID/", true, false},
		{"(?i)^/a\\.b", "/A.B", true, true},
		{"(?i)^/caf\u00e9/x", "/CAF", true, false},
		{"^/Api", "/Api", false, true},
		{"(?i)^/a/x|/a/y", "", false, false}, // the right side is unanchored
		{"(?i)/api", "", false, false},       // not anchored
		{"(?i)^", "", false, false},
		{"(?i)^.*", "", false, false},
	}
	for _, tc := range tests {
		lit, fold, litOnly := literalPrefix(regexp.MustCompile(tc.expr))
		if lit != tc.lit || (lit != "" && fold != tc.fold) || litOnly != tc.litOnly {
			t.Errorf("literalPrefix(%q) = %q, %v, %v; want %q, %v, %v", tc.expr, lit, fold, litOnly, tc.lit, tc.fold, tc.litOnly)
		}
	}
}

var regexSeeds = []string{
	"/api", "/something(/|$)(.*)", "/foos?x", "/id/[0-9]+", "/a/x|/a/y", "/ask", "/kS/(.*)",
	"", ".*", "/caf\u00e9", "/a\\.b", "/(?-i:Api)", "/a$",
}

var pathSeeds = []string{
	"/api", "/API/v1", "/ap", "/something", "/somethingelse", "/id/12a", "/a/y", "/x/a/y",
	"/a\u017fk", "/\u212as/x", "/CAF\u00c9", "/caf\u00e9", "/a.b", "/axb", "/Api", "/api", "/a", "/a\n",
	"/\xff\xfe", "",
}

// TestRegexPreMatchAgrees checks the literal pre-check against the regex
// itself, including the two ASCII letters that fold with non-ASCII runes.
func TestRegexPreMatchAgrees(t *testing.T) {
	for _, p := range regexSeeds {
		for _, path := range pathSeeds {
			checkRegexRoute(t, p, path)
		}
	}
}

func FuzzRegexPreMatch(f *testing.F) {
	for _, p := range regexSeeds {
		for _, path := range pathSeeds {
			f.Add(p, path)
		}
	}
	f.Fuzz(func(t *testing.T, p, path string) {
		if _, err := regexp.Compile("(?i)^" + p); err != nil {
			return
		}
		checkRegexRoute(t, p, path)
	})
}

func checkRegexRoute(t *testing.T, p, path string) {
	t.Helper()
	re := regexp.MustCompile("(?i)^" + p)
	v := compileVHost(&routecfg.VirtualHost{Routes: []*routecfg.Route{{Path: p, Match: routecfg.MatchRegex, Regex: re}}})
	if got, want := v.routes[0].matches(path), re.MatchString(path); got != want {
		t.Errorf("regex %q path %q: router %v, regexp %v", re, path, got, want)
	}
}
