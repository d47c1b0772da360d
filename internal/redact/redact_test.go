package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURLs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"no url here", "no url here"},
		{"http://auth.example/check", "http://auth.example/check"},
		{"https://user:s3cret@auth.example/check", "https://user:xxxxx@auth.example/check"},
		{"https://user@auth.example/", "https://user@auth.example/"},
		{"https://user:p@ss@auth.example:8443", "https://user:xxxxx@auth.example:8443"},
		{`invalid value "http://a:b@h/$host": bad; and http://c:d@e?x`, `invalid value "http://a:xxxxx@h/$host": bad; and http://c:xxxxx@e?x`},
		{"mailto:a@b and http://x/y@z", "mailto:a@b and http://x/y@z"},
		{"http://:pw@h", "http://:xxxxx@h"},
		// Found by fuzzing: the ':' ending one authority begins the next URL.
		{"a://a:b@://a:b@", "a://a:xxxxx@://a:xxxxx@"},
	} {
		if got := URLs(c.in); got != c.want {
			t.Errorf("URLs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzURLs: whatever the text, no password of a URL that net/url parses
// out of it survives, and text without "://" is unchanged.
func FuzzURLs(f *testing.F) {
	f.Add("https://user:s3cret@auth.example/check")
	f.Add("x http://a:b@c d")
	f.Fuzz(func(t *testing.T, s string) {
		got := URLs(s)
		if !strings.Contains(s, "://") && got != s {
			t.Fatalf("URLs(%q) = %q changed text without a URL", s, got)
		}
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && len(pw) > 0 && strings.HasPrefix(s, u.Scheme+"://") && !strings.ContainsAny(s, "\"'` \t\r\n<>") {
				if strings.Contains(got, "://"+u.User.Username()+":"+pw+"@") {
					t.Fatalf("URLs(%q) = %q keeps the password", s, got)
				}
			}
		}
	})
}
