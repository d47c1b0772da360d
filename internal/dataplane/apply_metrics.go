package dataplane

import (
	"github.com/moat-ingress/moat/internal/dataplane/cfgcheck"
	"github.com/moat-ingress/moat/internal/dataplane/hostmap"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// pruneAfter is how many removed hosts Apply lets accumulate before it
// prunes the per-host and per-route metric series: Prune walks every host
// and route (1-2 ms and ~1 MB at 10,000 hosts), and an entry it would drop
// is only a cache keyed by a host no longer served, so a few may wait.
const pruneAfter = 64

// updateMetrics is Prune and SetCertificates for an Apply from prev to
// cfg, skipping what delta (the hosts that differ, when deltaOK) shows to
// be unchanged.
func (d *Dataplane) updateMetrics(prev, cfg *routecfg.Config, delta []hostmap.Delta, deltaOK bool) {
	if d.metrics == nil {
		return
	}
	removed := 0
	for _, x := range delta {
		if x.Old != nil {
			removed++
		}
	}
	if d.unpruned += removed; !deltaOK || prev.CatchAll != cfg.CatchAll || d.unpruned >= pruneAfter {
		d.metrics.Prune(cfg)
		d.unpruned = 0
	}
	switch {
	case !deltaOK || !sameCertSet(prev, cfg):
		d.metrics.SetCertificates(cfg)
	case !plainHosts(delta):
		// Only hosts changed: their gauges alone.
		before, after := make([]*routecfg.VirtualHost, len(delta)), make([]*routecfg.VirtualHost, len(delta))
		for i, x := range delta {
			before[i], after[i] = x.Old, x.New
		}
		d.metrics.SetCertificateHosts(prev, cfg, before, after)
	}
}

// sameCertSet reports whether prev and cfg serve the same certificates:
// the same parsed entries, default and catch-all.
func sameCertSet(prev, cfg *routecfg.Config) bool {
	return prev != nil && prev.DefaultCertificate == cfg.DefaultCertificate && prev.CatchAll == cfg.CatchAll &&
		cfgcheck.SameCerts(prev.Certificates, cfg.Certificates) && cfg.Certificates[""] == nil
}

// plainHosts reports whether no host that differs serves a certificate
// (none names one and none has TLS on), so no gauge changes.
func plainHosts(delta []hostmap.Delta) bool {
	plain := func(vh *routecfg.VirtualHost) bool { return vh == nil || vh.Certificate == "" && !vh.TLS }
	for _, x := range delta {
		if !plain(x.Old) || !plain(x.New) {
			return false
		}
	}
	return true
}
