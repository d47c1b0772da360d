package dataplane

import (
	"github.com/moat-ingress/moat/internal/routecfg"
)

// clientLimits is the served configuration's ClientLimits, or the
// defaults.
func (d *Dataplane) clientLimits() *routecfg.ClientLimits {
	if c := d.snap.Load().Config; c != nil && c.Clients != nil {
		return c.Clients
	}
	l := routecfg.DefaultClientLimits()
	return &l
}

// applyClients hands the connection limit and send timeout to the gate,
// a changed header or keep-alive timeout to new servers (serve.go), and
// use-proxy-protocol to the header reader under the listeners (read per
// accepted connection, so it needs no new servers); the body timeout and
// keep-alive-requests travel with the config to the proxy.
func (d *Dataplane) applyClients(l *routecfg.ClientLimits) {
	if l == nil {
		def := routecfg.DefaultClientLimits()
		l = &def
	}
	max := l.MaxConnections
	if max == 0 {
		max = connectionsFromFileLimit()
	}
	d.gate.Set(max, l.SendTimeout)
	if d.pp.Set(l.ProxyProtocol, l.ProxyProtocolTimeout) {
		d.log.Info("use-proxy-protocol changed; connections accepted from now on follow it, open ones keep theirs",
			"use_proxy_protocol", l.ProxyProtocol, "header_timeout_ms", float64(l.ProxyProtocolTimeout.Microseconds())/1000)
		if l.ProxyProtocol && d.h3 != nil {
			d.log.Warn("use-proxy-protocol does not apply to HTTP/3 (UDP): its requests have the address their datagrams come from",
				"hint", "leave --http3 off behind a load balancer that hides client addresses")
		}
	}
	d.regenerate(l)
}
