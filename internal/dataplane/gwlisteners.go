package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/gwsock"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/dataplane/proxy"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// newGatewaySockets builds the Gateways' own sockets (gwsock) over the
// data plane's gate, handlers and passthrough routing.
func (d *Dataplane) newGatewaySockets() *gwsock.Set {
	return gwsock.New(gwsock.Options{
		Log:         d.log,
		DefaultCert: d.defaultCert,
		Now:         d.now,
		NewHandler:  func(snap func() *proxy.Snapshot) http.Handler { return d.newHandler(snap) },
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
		ConnContext:    clientconn.WithConn,
		TLSConnContext: connContext,
		ConnState:      d.metrics.ConnState,
		MaxHeaderBytes: maxHeaderBytes,
		RetireTimeout:  retireTimeout,
	})
}

// ListenerError is why the Gateway socket on ap could not be bound by the
// last configuration, nil when it is open or not asked for.
func (d *Dataplane) ListenerError(ap netip.AddrPort) error { return d.gw.Error(ap) }

// GatewayListeners lists the open Gateway sockets
// ("address:port/protocol"), sorted.
func (d *Dataplane) GatewayListeners() []string { return d.gw.Keys() }

// validateListeners checks the Gateway sockets of cfg: addresses, no
// socket twice, and their hosts as Validate checks the shared ones.
func validateListeners(cfg *routecfg.Config) error {
	if cfg == nil || len(cfg.Listeners) == 0 {
		return nil
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	seen := map[netip.AddrPort]bool{}
	for i, l := range cfg.Listeners {
		if l == nil {
			add("listener #%d: nil", i)
			continue
		}
		a, err := netip.ParseAddr(l.Address)
		if err != nil || l.Port <= 0 || l.Port > 65535 {
			add("listener %s: not an IP address and port", l.Key())
			continue
		}
		ap := netip.AddrPortFrom(a, uint16(l.Port))
		if seen[ap] {
			add("listener %s: address and port listed twice", l.Key())
		}
		seen[ap] = true
		hosts := map[string]bool{}
		for j, vh := range l.VirtualHosts {
			if vh == nil || vh.Host == "" {
				add("listener %s: virtual host #%d: nil or without host", l.Key(), j)
				continue
			}
			if hosts[vh.Host] {
				add("listener %s: virtual host %q: listed twice", l.Key(), vh.Host)
			}
			hosts[vh.Host] = true
			validateVHost(cfg, vh, add)
		}
		if l.CatchAll != nil {
			validateVHost(cfg, l.CatchAll, add)
		}
		if l.DefaultCertificate != "" && cfg.Certificates[l.DefaultCertificate] == nil {
			add("listener %s: default certificate %q not in config", l.Key(), l.DefaultCertificate)
		}
	}
	return errors.Join(errs...)
}
