package dataplane

import (
	"math/rand/v2"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
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
