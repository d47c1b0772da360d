package proxy

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/proxyprotocol"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// proxiedConn is the request's connection when it started with a PROXY
// header (use-proxy-protocol), else nil.
func (st *reqState) proxiedConn() *proxyprotocol.Conn {
	cc := st.clientConn()
	if cc == nil {
		return nil
	}
	pc, _ := cc.Conn.(*proxyprotocol.Conn)
	return pc
}

// clientConn is the request's connection under the client limits, nil
// when it has none.
func (st *reqState) clientConn() *clientconn.Conn {
	if st.conn == nil {
		return nil
	}
	return st.conn.Client
}

// connTLS is the connection's client-certificate verdict, nil when it
// has none (certs.ConnInfo.Client then verifies every time).
func (st *reqState) connTLS() *certs.ConnInfo {
	if st.conn == nil {
		return nil
	}
	return st.conn.TLS
}

// proxyProtocol sets the client address of a request whose connection
// carried a PROXY header with addresses, as ingress-nginx's nginx.tmpl
// composes real_ip with use-proxy-protocol: the socket's peer (the load
// balancer) must be in proxy-real-ip-cidr for the header to count; with
// use-forwarded-headers, a PROXY source that is itself in
// proxy-real-ip-cidr defers to X-Forwarded-For (real_ip_recursive), and
// X-Forwarded-Proto and -Host are then trusted. The header's destination
// port is X-Forwarded-Port, and 443 there means https (lua_ingress.lua),
// whatever the trust. It returns false when the header carried no
// addresses (LOCAL, UNKNOWN): the request is then taken as without one.
func (hs *httpReq) proxyProtocol(r *http.Request, pc *proxyprotocol.Conn, g *routecfg.Global) bool {
	src, dst, ok := pc.Addresses()
	if !ok {
		return false
	}
	hs.pp = true
	hs.ppPort = strconv.Itoa(int(dst.Port()))
	hs.client = src.Addr()
	var peer netip.Addr
	if ta, ok := pc.Peer().(*net.TCPAddr); ok {
		peer = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(pc.Peer().String()); err == nil {
		peer = ap.Addr().Unmap()
	}
	trusted := g.TrustedProxies
	switch {
	case !routecfg.ContainsAddr(trusted, peer):
		// set_real_ip_from does not cover the load balancer: nginx keeps
		// the socket's address.
		hs.client = peer
	case !g.UseForwardedHeaders, !routecfg.ContainsAddr(trusted, hs.client):
		// real_ip_header proxy_protocol, or an untrusted PROXY source:
		// the PROXY address.
	default:
		hs.trusted = true
		hs.trustForwarded(r)
		if v := r.Header.Get(g.ForwardedForHeader); v != "" {
			hs.client = realIP(v, peer, trusted)
		}
		// Without the header the PROXY address stays: ingress-nginx would
		// fall back to the load balancer's (a difference kept on purpose,
		// reported by the ConfigMap's use-proxy-protocol note).
	}
	if dst.Port() == 443 {
		hs.https = true
	}
	return true
}
