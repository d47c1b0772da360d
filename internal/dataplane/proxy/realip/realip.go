// Package realip resolves who a request comes from, as nginx's realip
// module and ingress-nginx's templates do: the client address
// ($remote_addr) from the socket, a PROXY protocol header or a trusted
// X-Forwarded-For, and the scheme and host a trusted peer forwards.
package realip

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxyprotocol"
	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// Client is the request's origin as resolved.
type Client struct {
	// Addr is $remote_addr after real_ip.
	Addr netip.Addr
	// HTTPS is the scheme the client used: the connection's, or a
	// trusted X-Forwarded-Proto (ingress-nginx's $pass_access_scheme).
	HTTPS bool
	// Host is $best_http_host: Host, or a trusted X-Forwarded-Host.
	Host string
	// Trusted: the peer may set forwarded headers.
	Trusted bool
	// PP: the connection's PROXY header gave addresses; PPPort is its
	// destination port, $proxy_protocol_server_port.
	PP     bool
	PPPort string
}

// Resolve resolves r's origin under g (nil: no forwarded headers
// trusted); pc is r's connection when it started with a PROXY header,
// else nil.
func Resolve(r *http.Request, g *global.Settings, pc *proxyprotocol.Conn) Client {
	c := Client{HTTPS: r.TLS != nil, Host: r.Host}
	if addr, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.Addr = addr.Addr().Unmap()
	}
	if pc != nil && g != nil && c.proxyProtocol(r, pc, g) {
		// the client address came from the PROXY header
	} else if g != nil && (g.UseForwardedHeaders || g.EnableRealIP) {
		c.Trusted = global.ContainsAddr(g.TrustedProxies, c.Addr)
		if c.Trusted && g.UseForwardedHeaders {
			c.trustForwarded(r)
		}
		if c.Trusted {
			c.Addr = realIP(r.Header.Get(g.ForwardedForHeader), c.Addr, g.TrustedProxies)
		}
	}
	return c
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
func (c *Client) proxyProtocol(r *http.Request, pc *proxyprotocol.Conn, g *global.Settings) bool {
	src, dst, ok := pc.Addresses()
	if !ok {
		return false
	}
	c.PP = true
	c.PPPort = strconv.Itoa(int(dst.Port()))
	c.Addr = src.Addr()
	var peer netip.Addr
	if ta, ok := pc.Peer().(*net.TCPAddr); ok {
		peer = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(pc.Peer().String()); err == nil {
		peer = ap.Addr().Unmap()
	}
	trusted := g.TrustedProxies
	switch {
	case !global.ContainsAddr(trusted, peer):
		// set_real_ip_from does not cover the load balancer: nginx keeps
		// the socket's address.
		c.Addr = peer
	case !g.UseForwardedHeaders, !global.ContainsAddr(trusted, c.Addr):
		// real_ip_header proxy_protocol, or an untrusted PROXY source:
		// the PROXY address.
	default:
		c.Trusted = true
		c.trustForwarded(r)
		if v := r.Header.Get(g.ForwardedForHeader); v != "" {
			c.Addr = realIP(v, peer, trusted)
		}
		// Without the header the PROXY address stays: ingress-nginx would
		// fall back to the load balancer's (a difference kept on purpose,
		// reported by the ConfigMap's use-proxy-protocol note).
	}
	if dst.Port() == 443 {
		c.HTTPS = true
	}
	return true
}

// trustForwarded takes the scheme and host from X-Forwarded-Proto and
// -Host of a trusted peer.
func (c *Client) trustForwarded(r *http.Request) {
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		c.HTTPS = strings.EqualFold(v, "https")
	}
	if v := r.Header.Get("X-Forwarded-Host"); v != "" {
		c.Host, _, _ = strings.Cut(v, ",")
	}
}

// realIP is nginx's real_ip with real_ip_recursive on: the rightmost
// address of the header that is not a trusted proxy; if all are trusted,
// the leftmost.
func realIP(header string, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	if header == "" {
		return peer
	}
	parts := strings.Split(header, ",")
	out := peer
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			return out
		}
		out = a.Unmap()
		if !global.ContainsAddr(trusted, out) {
			return out
		}
	}
	return out
}
