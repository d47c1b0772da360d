// Package ipaccess parses the source-address annotations:
// allowlist-source-range (alias whitelist-source-range),
// denylist-source-range and satisfy.
package ipaccess

import (
	"net/netip"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "allowlist-source-range", Status: annotations.Supported,
		Doc: "Comma-separated CIDRs allowed to use the Ingress's paths; others get 403. Default: the ConfigMap's whitelist-source-range. An invalid list denies the paths (503), as ingress-nginx does."},
	{Name: "whitelist-source-range", AliasOf: "allowlist-source-range", Status: annotations.Supported,
		Doc: "Old name, same behaviour."},
	{Name: "denylist-source-range", Status: annotations.Supported,
		Doc: "Comma-separated CIDRs refused with 403 (checked before the allowlist). An invalid list denies the paths (503)."},
	{Name: "satisfy", Status: annotations.Supported,
		Doc: "all (default): the address check and authentication must both pass; any: either suffices."},
}

// Parse reads the family; def is the ConfigMap's whitelist-source-range.
// nil when nothing applies.
func Parse(r *annotations.Reader, def []netip.Prefix) *routecfg.Access {
	return ParseDefaults(r, def, nil)
}

// ParseDefaults is Parse with the ConfigMap's denylist-source-range too:
// each default applies where the Ingress does not set its own list.
func ParseDefaults(r *annotations.Reader, allow, deny []netip.Prefix) *routecfg.Access {
	a := &routecfg.Access{Allow: allow, Deny: deny}
	if name, v, ok := r.First("allowlist-source-range", "whitelist-source-range"); ok {
		p, err := nginx.ParseCIDRs(v)
		if err != nil {
			r.Invalid(name, v, err.Error()+"; the paths are denied (503) until it is fixed")
			a.Denied = "invalid " + name
		} else {
			a.Allow = p
		}
	}
	if v, ok := r.Raw("denylist-source-range"); ok {
		p, err := nginx.ParseCIDRs(v)
		if err != nil {
			r.Invalid("denylist-source-range", v, err.Error()+"; the paths are denied (503) until it is fixed")
			a.Denied = "invalid denylist-source-range"
		} else {
			a.Deny = p
		}
	}
	a.SatisfyAny = r.OneOf("satisfy", "all", "all", "any") == "any"
	if len(a.Allow) == 0 && len(a.Deny) == 0 && a.Denied == "" && !a.SatisfyAny {
		return nil
	}
	return a
}
