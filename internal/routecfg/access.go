package routecfg

import "net/netip"

// Access is the source-address family (allowlist-source-range,
// denylist-source-range, satisfy) and ingress-nginx's "location denied".
type Access struct {
	// Deny is checked first; a match gets 403.
	Deny []netip.Prefix
	// Allow, when non-empty, refuses every other address with 403.
	Allow []netip.Prefix
	// SatisfyAny lets a request through when either the address check or
	// authentication passes (nginx satisfy any).
	SatisfyAny bool
	// Denied, when set, answers every request 503: an annotation the
	// location depends on for access control was invalid, and
	// ingress-nginx then denies the location rather than open it.
	Denied string
}
