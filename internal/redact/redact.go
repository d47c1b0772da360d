// Package redact hides credentials in text that moat logs or reports: the
// password of a URL's userinfo ("https://user:secret@auth.example/"), as
// an auth-url may carry one.
package redact

import "strings"

// Mask replaces a redacted password, as net/url's URL.Redacted does.
const Mask = "xxxxx"

// URLs returns s with the password of every URL in it replaced by Mask.
// It works on free text (a diagnostic message, a templated URL with
// $variables that net/url would refuse): a URL is a scheme followed by
// "://", its userinfo everything up to the first '@' before the authority
// ends ('/', '?', '#', a quote or a space). s is returned as is when it
// holds no such password.
func URLs(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		auth := i + 3
		end := auth
		for end < len(rest) && !strings.ContainsRune("/?#\"'` \t\r\n<>", rune(rest[end])) {
			end++
		}
		at := strings.LastIndexByte(rest[auth:end], '@')
		colon := -1
		if at >= 0 {
			colon = strings.IndexByte(rest[auth:auth+at], ':')
		}
		if colon < 0 {
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(rest[:auth+colon+1])
		b.WriteString(Mask)
		b.WriteString(rest[auth+at : end])
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}
