package translate

import (
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// UpdateEndpoints is Translate for an endpoint-only change
// (resolve.UpdateEndpoints): only the pools of services
// ("namespace/name") are recomputed; ok is false when the caller must
// translate in full.
func UpdateEndpoints(cfg *routecfg.Config, sn *store.Snapshot, services map[string]bool) (next *routecfg.Config, changed []string, ok bool) {
	return resolve.UpdateEndpoints(cfg, sn, services)
}
