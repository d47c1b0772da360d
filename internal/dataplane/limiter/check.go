package limiter

import (
	"net/netip"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Check applies a route's limit-rps, limit-rpm and limit-connections to
// client a at nowMs: the status to answer (reqStatus for the request
// rates, connStatus for connections; 0: go on) and the zone holding a's
// connection, to Release when the request ends (nil: none held).
func (r *Registry) Check(l *routecfg.Limits, a netip.Addr, nowMs int64, reqStatus, connStatus int) (int, *Conns) {
	if l.RPS == 0 && l.RPM == 0 && l.Connections == 0 {
		return 0, nil
	}
	for _, p := range l.Allow {
		if p.Contains(a) {
			return 0, nil
		}
	}
	var rps *Requests
	if l.RPS > 0 {
		rps = r.Requests(l.Zone+"#rps", nowMs)
		if !rps.Allow(a, nowMs, l.RPS, 1000, l.BurstRPS) {
			return reqStatus, nil
		}
	}
	if l.RPM > 0 {
		if !r.Requests(l.Zone+"#rpm", nowMs).Allow(a, nowMs, l.RPM, 60_000, l.BurstRPM) {
			if rps != nil {
				rps.Refund(a)
			}
			return reqStatus, nil
		}
	}
	if l.Connections > 0 {
		z := r.Conns(l.Zone, nowMs)
		if !z.Acquire(a, l.Connections, nowMs) {
			return connStatus, nil
		}
		return 0, z
	}
	return 0, nil
}
