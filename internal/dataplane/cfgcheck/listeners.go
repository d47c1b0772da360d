package cfgcheck

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/moat-ingress/moat/internal/routecfg"
)

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
