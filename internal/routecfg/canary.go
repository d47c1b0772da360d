package routecfg

import "regexp"

// Canary sends part of a route's traffic to another pool: ingress-nginx's
// canary Ingress, attached as an "alternative backend" to the main route
// with the same host, path and pathType. The decision is taken per request
// in ingress-nginx's order: header, then cookie, then weight.
type Canary struct {
	// Pool is the key into Config.Pools of the canary Service port. A
	// canary pool without endpoints leaves traffic on the main pool.
	Pool string
	// Source names the canary Ingress and Service.
	Source Source

	// Header is the canonical name of canary-by-header, or "".
	Header string
	// HeaderValue routes to the canary when the header equals it.
	HeaderValue string
	// HeaderPattern routes to the canary when it matches the header
	// (used only when HeaderValue is "").
	HeaderPattern *regexp.Regexp
	// Cookie is the name of canary-by-cookie, or "".
	Cookie string
	// Weight of WeightTotal requests (not decided by header or cookie)
	// go to the canary.
	Weight      int
	WeightTotal int

	// Balance and Affinity are the canary Ingress's own (ingress-nginx
	// keeps load-balance, upstream-hash-by and affinity from the canary;
	// everything else comes from the main Ingress). Nil: round robin.
	Balance  *Balance
	Affinity *Affinity
}
