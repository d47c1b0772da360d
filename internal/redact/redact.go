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
	pos, from := 0, 0 // written up to pos; look for the next "://" from from
	for {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		auth := from + i + 3
		end := auth
		for end < len(s) && !strings.ContainsRune("/?#\"'` \t\r\n<>", rune(s[end])) {
			end++
		}
		// The ':' that ends this authority may begin the next "://"
		// ("a://u:p@h://v:q@"): search again from it.
		from = max(end-1, auth)
		at := strings.LastIndexByte(s[auth:end], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[auth:auth+at], ':')
		if colon < 0 {
			continue
		}
		b.WriteString(s[pos : auth+colon+1])
		b.WriteString(Mask)
		pos = auth + at
	}
	if pos == 0 {
		return s
	}
	b.WriteString(s[pos:])
	return b.String()
}
