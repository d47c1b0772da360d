package upstream

import "github.com/moat-ingress/moat/internal/routecfg"

// SetEndpoints replaces the endpoints of existing pools, for an
// endpoint-only change that needs no new configuration. Addresses that
// stay keep their state, as with Apply. It returns the keys it did not
// know; those pools are left alone.
func (m *Manager) SetEndpoints(pools map[string][]routecfg.Endpoint) (unknown []string) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := *m.pools.Load()
	for key, cfg := range pools {
		p := cur[key]
		if p == nil {
			unknown = append(unknown, key)
			continue
		}
		eps := mergeEndpoints(*p.endpoints.Load(), cfg)
		p.endpoints.Store(&eps)
	}
	return unknown
}
