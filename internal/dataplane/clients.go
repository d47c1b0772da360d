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

// applyClients hands the connection limit and send timeout to the gate;
// the body timeout and keep-alive-requests travel with the config to the
// proxy. The header and keep-alive timeouts are the HTTP servers' own
// settings, fixed when they start: a change is reported, not applied.
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
	last := d.lastClients
	d.lastClients = l
	if last != nil && last.HeaderTimeout == l.HeaderTimeout && last.KeepAlive == l.KeepAlive {
		return
	}
	if s := d.served.Load(); s != nil && (s.HeaderTimeout != l.HeaderTimeout || s.KeepAlive != l.KeepAlive) {
		d.log.Warn("client-header-timeout and keep-alive changes apply after a restart; the listeners keep their settings",
			"client_header_timeout", s.HeaderTimeout, "keep_alive", s.KeepAlive, "configured_client_header_timeout", l.HeaderTimeout, "configured_keep_alive", l.KeepAlive)
	}
}
