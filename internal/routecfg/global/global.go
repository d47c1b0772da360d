// Package global is the controller ConfigMap's settings that the proxy
// applies to every request, whatever the route: redirects, forwarded
// headers, block lists, global headers, the access log and compression. It
// is apart from routecfg because it is the ConfigMap's, not an Ingress's,
// and changes with it alone.
package global

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg/compression"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// Settings is what the proxy needs from the controller ConfigMap.
type Settings struct {
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
	LogFormat *logformat.Format
	// Compression is use-gzip, enable-brotli and their settings; nil when
	// both are off.
	Compression *compression.Config

	// ProxySetHeaders are set on every proxied request after the
	// forwarded headers (proxy-set-headers); an empty value removes the
	// header. AddHeaders are set on every response (add-headers), before
	// a location's own header settings.
	ProxySetHeaders []vartemplate.Header
	AddHeaders      []vartemplate.Header
	// HideHeaders are removed from upstream responses (hide-headers),
	// canonical names.
	HideHeaders []string
	// AllowBackendServerHeader keeps the upstream's Server header.
	AllowBackendServerHeader bool
	// DropUnderscoreHeaders drops request headers whose name has an
	// underscore (enable-underscores-in-headers off with
	// ignore-invalid-headers on, nginx's defaults).
	DropUnderscoreHeaders bool
	// AddOriginalURIHeader sends X-Original-URI upstream.
	AddOriginalURIHeader bool
	// NoRequestIDGeneration: only a client's X-Request-ID is used
	// (generate-request-id false).
	NoRequestIDGeneration bool
	// EnableRealIP takes the client address from ForwardedForHeader of
	// TrustedProxies without trusting the other forwarded headers.
	EnableRealIP bool
	// BlockReferers are answered 403 on every host.
	BlockReferers []StringMatch
	// DisableAccessLog turns the access log off; SkipAccessLogURIs leave
	// out requests whose request URI matches.
	DisableAccessLog  bool
	SkipAccessLogURIs []StringMatch
	// AccessLogDefaultBackend logs the requests of ingress-nginx's
	// default server: a host no Ingress names (without a catch-all path
	// for it); off by default.
	AccessLogDefaultBackend bool
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
