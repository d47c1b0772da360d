package dataplane

import (
	"net"
	"net/netip"

	"github.com/moat-ingress/moat/internal/dataplane/gwsock"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// newGatewaySockets builds the Gateways' own sockets (gwsock) over the
// data plane's gate, handlers and passthrough routing.
func (d *Dataplane) newGatewaySockets() *gwsock.Set {
	return gwsock.New(gwsock.Options{
		Log:         d.log,
		DefaultCert: d.defaultCert,
		Now:         d.now,
		NewHandler:  d.newHandler,
		Wrap: func(ln net.Listener, tls bool) net.Listener {
			name := "http"
			if tls {
				name = "https"
			}
			return d.gate.Listen(d.pp.Listen(ln, name), name, tls)
		},
		Limits: d.clientLimits,
		Passthrough: func(cfg *routecfg.Config) gwsock.Route {
			t := buildPassTable(cfg)
			if t.names.Len() == 0 {
				return nil
			}
			t.anyDepth = true
			return func(sni string) (passthrough.Backend, bool) { return d.passRouteIn(t, sni) }
		},
		NewServer:     d.clientServer,
		RetireTimeout: retireTimeout,
	})
}

// ListenerError is why the Gateway socket on ap could not be bound by the
// last configuration, nil when it is open or not asked for.
func (d *Dataplane) ListenerError(ap netip.AddrPort) error { return d.gw.Error(ap) }

// GatewayListeners lists the open Gateway sockets
// ("address:port/protocol"), sorted.
func (d *Dataplane) GatewayListeners() []string { return d.gw.Keys() }
