package dataplane

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/passthrough"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// passTable maps passthrough hosts to their pool keys.
type passTable struct {
	names certs.NameTable[*routecfg.Passthrough]
	// anyDepth: Gateway API wildcards, covering one or more labels (a
	// Gateway's own socket); Ingress ones cover one.
	anyDepth bool
}

func buildPassTable(cfg *routecfg.Config) *passTable {
	t := &passTable{}
	for _, vh := range cfg.VirtualHosts {
		if vh != nil && vh.Passthrough != nil {
			t.names.Add(vh.Host, vh.Passthrough)
		}
	}
	return t
}

// passActive reports whether any host is passed through, so the listener
// skips the ClientHello peek when none is.
func (d *Dataplane) passActive() bool { return d.pass.Load().names.Len() > 0 }

// passRoute picks the endpoint for a passthrough SNI. A passthrough host
// without endpoints gets its connection closed, like nginx's stream proxy.
func (d *Dataplane) passRoute(sni string) (passthrough.Backend, bool) {
	return d.passRouteIn(d.pass.Load(), sni)
}

// passRouteIn is passRoute over table t (a Gateway socket's).
func (d *Dataplane) passRouteIn(t *passTable, sni string) (passthrough.Backend, bool) {
	lookup := t.names.Lookup
	if t.anyDepth {
		lookup = t.names.LookupAnyDepth
	}
	p, ok := lookup(sni)
	if !ok {
		return passthrough.Backend{}, false
	}
	pool := p.Pool
	if len(p.Backends) > 0 {
		pool = pickPool(p.Backends)
	}
	if pool == "" {
		return passthrough.Backend{}, true
	}
	ep := d.upstreams.Pick(pool)
	if ep == nil {
		return passthrough.Backend{}, true
	}
	ep.Acquire()
	return passthrough.Backend{
		Address: ep.Address,
		Release: ep.Release,
		Failed:  func() { d.upstreams.MarkFailed(ep) },
		// TLSRoute on a Terminate listener.
		Terminate: p.Terminate,
	}, true
}

// pickPool picks one of weighted backends ("" for an unresolved one or
// when every weight is 0).
func pickPool(bs []routecfg.Backend) string {
	total := 0
	for _, b := range bs {
		total += b.Weight
	}
	if total <= 0 {
		return ""
	}
	n := rand.IntN(total)
	for _, b := range bs {
		if n < b.Weight {
			return b.Pool
		}
		n -= b.Weight
	}
	return ""
}

// connContext gives each HTTPS connection the state its requests share
// (the client-certificate verdict).
func connContext(ctx context.Context, c net.Conn) context.Context {
	return certs.WithConnInfo(clientconn.WithConn(ctx, c), &certs.ConnInfo{})
}

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
