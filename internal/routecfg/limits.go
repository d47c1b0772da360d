package routecfg

import "net/netip"

// Limits are ingress-nginx's per-client limits (limit_req, limit_conn
// and limit_rate), counted per replica.
type Limits struct {
	// Zone names the counters: all routes of one Ingress share them, as
	// ingress-nginx's zones are per Ingress. State is kept by zone name
	// across config swaps.
	Zone string
	// RPS and RPM are requests per second and per minute per client
	// address (0: off); Burst* are the extra requests allowed at once
	// (limit × limit-burst-multiplier), as limit_req burst=… nodelay.
	RPS, BurstRPS int
	RPM, BurstRPM int
	// Connections is the number of concurrent requests per client
	// address (0: off).
	Connections int
	// Allow are client ranges exempt from RPS, RPM and Connections.
	Allow []netip.Prefix
	// Rate limits the response to the client in bytes per second after
	// RateAfter bytes (0: off).
	Rate, RateAfter int64
}
