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
// and a changed header or keep-alive timeout to new servers (serve.go);
// the body timeout and keep-alive-requests travel with the config to the
// proxy.
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
	d.regenerate(l)
}
