// Package compression is the controller-wide response compression
// settings (use-gzip, enable-brotli and their keys) and the media-type
// lists that select responses. It is apart from routecfg because only the
// ConfigMap parser and dataplane/compress use it: the routing model just
// carries a pointer to it.
package compression

import (
	"fmt"
	"regexp"
	"strings"
)

// Config is response compression from the controller ConfigMap
// (use-gzip, enable-brotli and their settings), applied by
// dataplane/compress to every proxied response, as ingress-nginx's
// http-level gzip and brotli directives.
type Config struct {
	// Gzip is use-gzip; GzipLevel 1-9, GzipMinLength in bytes (a response
	// with a smaller Content-Length is sent as is).
	Gzip          bool
	GzipLevel     int
	GzipMinLength int64
	GzipTypes     Types
	// GzipDisable matches User-Agents that never get gzip (gzip-disable,
	// case-insensitive as nginx's gzip_disable); GzipDisableMSIE6 is its
	// special value "msie6".
	GzipDisable      *regexp.Regexp
	GzipDisableMSIE6 bool

	// Brotli is enable-brotli; BrotliLevel 0-11.
	Brotli          bool
	BrotliLevel     int
	BrotliMinLength int64
	BrotliTypes     Types
}

// On reports whether any encoding is enabled.
func (c *Config) On() bool { return c != nil && (c.Gzip || c.Brotli) }

// Types is nginx's gzip_types / brotli_types: exact media types
// (text/html always among them) or All ("*", any response, even one
// without a Content-Type).
type Types struct {
	All   bool
	Types []string
}

// ParseTypes parses a space- or comma-separated list of media types
// ("type/subtype", compared without parameters and case) or "*". text/html
// is always added, as nginx's gzip_types and brotli_types do.
func ParseTypes(v string) (Types, error) {
	var m Types
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
	for _, f := range fields {
		if f == "*" {
			m.All = true
			continue
		}
		if !validMediaType(f) {
			return Types{}, fmt.Errorf("%q is not a media type (type/subtype, or * alone for every type; nginx compares types exactly, so text/* would never match)", f)
		}
		f = strings.ToLower(f)
		if !m.has(f) {
			m.Types = append(m.Types, f)
		}
	}
	if !m.has("text/html") {
		m.Types = append(m.Types, "text/html")
	}
	return m, nil
}

func (m *Types) has(t string) bool {
	for _, x := range m.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Match reports whether a response with this Content-Type value is listed:
// the media type before any parameter, compared case-insensitively.
func (m *Types) Match(contentType string) bool {
	if m.All {
		return true
	}
	t := contentType
	if i := strings.IndexAny(t, "; \t"); i >= 0 {
		t = t[:i]
	}
	if t == "" {
		return false
	}
	for _, x := range m.Types {
		if strings.EqualFold(x, t) {
			return true
		}
	}
	return false
}

// validMediaType is RFC 9110's type "/" subtype, both tokens; neither may
// be "*" (nginx would compare "text/*" literally).
func validMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isToken(typ) && isToken(sub) && typ != "*" && sub != "*"
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
