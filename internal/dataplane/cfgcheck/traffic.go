package cfgcheck

import (
	"github.com/moat-ingress/moat/internal/routecfg"
)

// validateTraffic checks a route's traffic policies: the canary's pool
// exists and the numbers the proxy divides or indexes by are sane.
func validateTraffic(cfg *routecfg.Config, rt *routecfg.Route, where string, add func(string, ...any)) {
	p := rt.Policy
	if p == nil {
		return
	}
	if c := p.Canary; c != nil {
		if c.Pool == "" || cfg.Pools[c.Pool] == nil {
			add("%s: canary pool %q not in config", where, c.Pool)
		}
		if c.Weight < 0 || c.WeightTotal < 0 {
			add("%s: canary weight %d/%d is negative", where, c.Weight, c.WeightTotal)
		}
	}
	if b := p.Balance; b != nil && b.HashSubsetSize < 0 {
		add("%s: hash subset size %d is negative", where, b.HashSubsetSize)
	}
	if a := p.Affinity; a != nil && a.CookieName == "" {
		add("%s: affinity without a cookie name", where)
	}
	if l := p.Limits; l != nil && (l.RPS < 0 || l.RPM < 0 || l.Connections < 0 || l.BurstRPS < 0 || l.BurstRPM < 0 || l.Rate < 0) {
		add("%s: negative limits", where)
	}
}
