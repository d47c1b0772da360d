// Package access is who may come in by address and client: ingress-nginx's
// global block lists (block-cidrs, block-user-agents, block-referers) and
// a route's source ranges (whitelist- and denylist-source-range) with
// nginx's satisfy. Authentication (package extauth) decides the rest.
package access

import (
	"net/http"
	"net/netip"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// Blocked reports whether the global block lists of g (nil: none) refuse
// client (its $remote_addr) or r's User-Agent or Referer.
func Blocked(g *global.Settings, client netip.Addr, r *http.Request) bool {
	if g == nil || (len(g.BlockCIDRs) == 0 && len(g.BlockUserAgents) == 0 && len(g.BlockReferers) == 0) {
		return false
	}
	blocked := global.ContainsAddr(g.BlockCIDRs, client)
	ua := r.Header.Get("User-Agent")
	for _, m := range g.BlockUserAgents {
		blocked = blocked || m.Match(ua)
	}
	ref := r.Header.Get("Referer")
	for _, m := range g.BlockReferers {
		blocked = blocked || m.Match(ref)
	}
	return blocked
}

// Addresses applies a route's source ranges a (nil: none) to client:
// status is the answer when they decide alone (503 for a policy that
// could not be applied, 403 for a refused address without satisfy any);
// pass lets the request through alone (satisfy any with a matching allow
// rule); otherwise addrOK is the rules' verdict for authentication to
// weigh.
func Addresses(a *routecfg.Access, client netip.Addr) (status int, pass, addrOK bool) {
	if a != nil && a.Denied != "" {
		return http.StatusServiceUnavailable, false, false
	}
	addrOK = true
	if a != nil && (len(a.Deny) > 0 || len(a.Allow) > 0) {
		if global.ContainsAddr(a.Deny, client) || (len(a.Allow) > 0 && !global.ContainsAddr(a.Allow, client)) {
			addrOK = false
		}
	}
	any := a != nil && a.SatisfyAny
	if !any && !addrOK {
		return http.StatusForbidden, false, false
	}
	// satisfy any: an allow rule that matched lets the request through
	// alone. An address that is merely not denied (a denylist without an
	// allowlist) does not: nginx's access module declines then, and
	// authentication still decides.
	if any && addrOK && len(a.Allow) > 0 {
		return 0, true, true
	}
	return 0, false, addrOK
}
