package cfgcheck

import (
	"crypto/tls"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// validateTLS checks what the TLS features rely on in a virtual host.
func validateTLS(cfg *routecfg.Config, vh *routecfg.VirtualHost, name string, add func(string, ...any)) {
	if ca := vh.ClientAuth; ca != nil {
		if ca.Error == "" && ca.CAs == nil {
			add("host %q: client authentication without CA certificates", name)
		}
		if vh.Host == "" {
			add("host %q: client authentication needs a host name", name)
		}
	}
	if p := vh.Passthrough; p != nil {
		if p.Pool != "" && cfg.Pools[p.Pool] == nil || p.Pool == "" && len(p.Backends) == 0 {
			add("host %q: passthrough pool %q not in config", name, p.Pool)
		}
		for _, b := range p.Backends {
			if b.Weight < 0 || b.Pool != "" && cfg.Pools[b.Pool] == nil {
				add("host %q: passthrough backend %q (weight %d) not valid", name, b.Pool, b.Weight)
			}
		}
	}
}

// validatePoolTLS checks a pool's protocol settings.
func validatePoolTLS(key string, p *routecfg.Pool, add func(string, ...any)) {
	if p.Protocol > routecfg.ProtocolFCGI {
		add("pool %q: unknown protocol %d", key, p.Protocol)
	}
	if p.FastCGI != nil && p.Protocol != routecfg.ProtocolFCGI {
		add("pool %q: FastCGI settings on a %s pool", key, p.Protocol)
	}
	if u := p.TLS; u != nil {
		if !p.Protocol.TLS() {
			add("pool %q: TLS settings on a %s pool", key, p.Protocol)
		}
		if u.ID == "" {
			add("pool %q: TLS settings without an ID", key)
		}
		if u.Verify && u.RootCAs == nil {
			add("pool %q: verification without CA certificates", key)
		}
	}
}

// validateServerTLS checks the listener policy crypto/tls would otherwise
// reject at every handshake.
func validateServerTLS(p *routecfg.ServerTLS, add func(string, ...any)) {
	if p == nil {
		return
	}
	if p.MinVersion < tls.VersionTLS10 || p.MaxVersion > tls.VersionTLS13 || p.MinVersion > p.MaxVersion {
		add("server TLS: versions %#x..%#x are not a TLS range", p.MinVersion, p.MaxVersion)
	}
}
