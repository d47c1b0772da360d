package upstream

import (
	"github.com/moat-ingress/moat/internal/dataplane/fcgi"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// special returns the backend of the protocols that are not one
// http.Transport per identity: FCGI (a FastCGI client per pool, holding
// the pool's parameters; it keeps no connections, as nginx's
// fastcgi_keep_conn off) and AUTO_HTTP (the plain path for HTTP requests,
// a default HTTPS transport for HTTPS ones). It marks the identities it
// uses in used.
func (t *Transports) special(p *routecfg.Pool, used map[string]bool) (Backend, bool) {
	switch p.Protocol {
	case routecfg.ProtocolFCGI:
		var s routecfg.FastCGI
		if p.FastCGI != nil {
			s = *p.FastCGI
		}
		return Backend{Transport: fcgi.New(s, exchange.NewDialer(t.opts.ConnectTimeout), t.opts.Logger), Scheme: "http"}, true
	case routecfg.ProtocolAutoHTTP:
		https := &routecfg.Pool{Protocol: routecfg.ProtocolHTTPS}
		id := https.Protocol.String()
		tr := t.byID[id]
		if tr == nil {
			tr = t.build(https)
			t.byID[id] = tr
		}
		used[id] = true
		return Backend{Transport: t.For("").Transport, Scheme: "http", AutoTLS: Std{RoundTripper: tr}}, true
	}
	return Backend{}, false
}

// Plain reports whether pool is reached over plain HTTP/1.1 (the default
// backend-protocol), the only protocol proxy-http-version applies to.
func (t *Transports) Plain(pool string) bool {
	_, special := (*t.byPool.Load())[pool]
	return !special
}
