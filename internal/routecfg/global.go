package routecfg

import (
	"net/netip"
	"regexp"
	"strings"
)

// Global is what the proxy needs from the controller ConfigMap.
type Global struct {
	// HTTPRedirectCode answers HTTP→HTTPS and www redirects; 0 means 308.
	HTTPRedirectCode int
	// NoTLSRedirectLocations are path prefixes never redirected to HTTPS.
	NoTLSRedirectLocations []string
	// UseForwardedHeaders trusts X-Forwarded-* (and ForwardedForHeader)
	// from peers in TrustedProxies.
	UseForwardedHeaders bool
	// ForwardedForHeader carries the client address ("X-Forwarded-For").
	ForwardedForHeader string
	// ComputeFullForwardedFor appends the peer to X-Forwarded-For.
	ComputeFullForwardedFor bool
	TrustedProxies          []netip.Prefix
	// BlockCIDRs and BlockUserAgents are answered 403 on every host.
	BlockCIDRs      []netip.Prefix
	BlockUserAgents []StringMatch
	// ServerTokens adds moat's version to the Server header.
	ServerTokens bool
	// LogFormat is log-format-upstream, compiled; nil: the default.
	LogFormat *LogFormat
	// Compression is use-gzip, enable-brotli and their settings; nil when
	// both are off.
	Compression *Compression
}

// StringMatch is an nginx map source value: an exact string compared
// case-insensitively, or a regular expression ("~re", "~*re").
type StringMatch struct {
	Exact string
	Regex *regexp.Regexp
}

// NewStringMatch parses v as nginx's map does.
func NewStringMatch(v string) (StringMatch, error) {
	if re, ok := strings.CutPrefix(v, "~"); ok {
		flags := ""
		if r, ok := strings.CutPrefix(re, "*"); ok {
			re, flags = r, "(?i)"
		}
		c, err := regexp.Compile(flags + re)
		return StringMatch{Regex: c}, err
	}
	return StringMatch{Exact: v}, nil
}

// Match reports whether s matches.
func (m StringMatch) Match(s string) bool {
	if m.Regex != nil {
		return m.Regex.MatchString(s)
	}
	return strings.EqualFold(m.Exact, s)
}

// ContainsAddr reports whether any prefix contains a.
func ContainsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
