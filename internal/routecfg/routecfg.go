// Package routecfg is moat's immutable routing model: what the data plane
// serves. translate builds it; the data plane compiles and swaps it whole.
// It imports nothing from Kubernetes so the data plane never does either.
//
// A Config is never mutated after it is handed to the data plane.
package routecfg

import (
	"crypto/tls"
	"net"
	"regexp"
	"strconv"
)

// Config is one complete routing configuration.
type Config struct {
	// VirtualHosts holds one entry per distinct host ("foo.com" or
	// "*.foo.com", lower case), sorted by Host.
	VirtualHosts []*VirtualHost
	// CatchAll serves requests whose host matches no VirtualHost: routes
	// from rules without a host and the defaultBackend of rule-less
	// Ingresses. Nil means every such request gets 404.
	CatchAll *VirtualHost
	// Pools are the upstream groups, keyed by Pool.Key. Routes refer to
	// them by key so that endpoint churn only touches this map.
	Pools map[string]*Pool
	// Certificates are keyed by Certificate.Ref ("namespace/name").
	Certificates map[string]*Certificate
	// DefaultCertificate is served for unknown or missing SNI and for
	// hosts without a usable certificate. Nil: the data plane uses the
	// self-signed certificate it generated at start.
	DefaultCertificate *Certificate
	// ServerTLS is the HTTPS listener's policy; nil means DefaultServerTLS.
	ServerTLS *ServerTLS
	// TrafficDefaults are the controller-wide body, timeout and limit
	// settings; nil means ingress-nginx's defaults (DefaultTraffic).
	TrafficDefaults *TrafficDefaults
	// Clients are the limits on client connections; nil means
	// DefaultClientLimits.
	Clients *ClientLimits
	// Global holds the controller ConfigMap settings the proxy applies to
	// every request (redirect code, forwarded headers, block lists); nil
	// means ingress-nginx's defaults.
	Global *Global
	// Streams are the TCP and UDP services (stream.go).
	Streams []*Stream
	// DefaultBackend is --default-backend-service (ingress-nginx's
	// upstream-default-backend): it serves the requests no route
	// matches, and the error pages of routes whose ErrorPages.Pool is
	// "". Nil, or a pool without ready endpoints: the built-in 404.
	DefaultBackend *Route
	// Tracing is OpenTelemetry's exporter and defaults; nil when no
	// route is traced.
	Tracing *Tracing
	// Listeners are the Gateways' own sockets (--gateway-address-pool),
	// sorted by Key; nil without the pool.
	Listeners []*Listener
}

// VirtualHost is the set of routes for one host.
type VirtualHost struct {
	// Host is lower case, without port or trailing dot. A wildcard host
	// "*.foo.com" matches exactly one label in place of "*". Empty for
	// the catch-all.
	Host string
	// TLS is true when some Ingress lists this host in spec.tls (even
	// without a usable Secret); it turns on the HTTP→HTTPS redirect.
	TLS bool
	// Certificate is the key into Config.Certificates for this host's
	// SNI, or "" for the default certificate.
	Certificate string
	// HSTS is the Strict-Transport-Security value to set on HTTPS
	// responses for this host ("" for none). It replaces any upstream value.
	HSTS string
	// Routes are in match order: the first route whose matcher accepts
	// the request path wins (see Route). translate guarantees the order:
	// for literal paths longest first, Exact before Prefix at equal
	// length; for regex hosts, ingress-nginx's descending path length.
	Routes []*Route
	// RedirectHTTPS applies when no route matches a plain-HTTP request:
	// whether the host's unmatched paths redirect to HTTPS.
	RedirectHTTPS bool
	// Policy is host-level annotation behaviour (app-root, www redirect,
	// server-snippet headers); nil: none.
	Policy *HostPolicy
	// CertificateNote says why a host with TLS is served the default
	// certificate ("" otherwise), for `/debug/certs`.
	CertificateNote string
	// ClientAuth, when set, is the host's client-certificate policy on
	// HTTPS (see tls.go).
	ClientAuth *ClientAuth
	// TLSCipherSuites, when set, replace the listener's TLS 1.2 suites for
	// the host (the ssl-ciphers annotation).
	TLSCipherSuites []uint16
	// Passthrough, when set, forwards the host's TLS connections to a pool
	// without terminating them (needs --enable-ssl-passthrough).
	Passthrough *Passthrough
}

// MatchKind selects how Route.Path is compared with the request path.
type MatchKind uint8

const (
	// MatchExact matches the path exactly, case-sensitively.
	MatchExact MatchKind = iota
	// MatchPrefix matches element-wise by '/'-separated segments, case
	// sensitively; Path has no trailing slash except the root "/".
	MatchPrefix
	// MatchRegex matches when Regex matches at the start of the path
	// (ingress-nginx's `~* "^path"`: case-insensitive, start-anchored).
	MatchRegex
)

func (k MatchKind) String() string {
	switch k {
	case MatchExact:
		return "Exact"
	case MatchPrefix:
		return "Prefix"
	case MatchRegex:
		return "Regex"
	}
	return "Unknown"
}

// Route is one path of one Ingress rule (or a default backend).
type Route struct {
	Path  string
	Match MatchKind
	// Regex is set for MatchRegex, compiled from "(?i)^" + Path.
	Regex *regexp.Regexp

	// Pool is the key into Config.Pools, or "" when the backend could not
	// be resolved; then Status is served.
	Pool string
	// Status is the fixed answer when Pool is "": 503 for a Service that
	// is missing, 404 for a backend that names no Service.
	Status int

	// Rewrite, when non-nil, rewrites the request URI (or redirects).
	Rewrite *Rewrite

	// SSLRedirect redirects plain HTTP to HTTPS when the host has TLS.
	SSLRedirect bool
	// ForceSSLRedirect redirects plain HTTP to HTTPS even without TLS.
	ForceSSLRedirect bool

	// Policy is the annotation-driven behaviour of the route; nil: none.
	Policy *RoutePolicy

	// Conditions, when set, must hold besides the path (match.go).
	Conditions *Conditions
	// Backends, when set, replace Pool and Status: a weighted choice
	// per request (Gateway API backendRefs).
	Backends []Backend
	// URLRedirect, when set, answers every request with a redirect.
	URLRedirect *URLRedirect
	// PathRewrite, when set, replaces the upstream path (Gateway API
	// URLRewrite); the query is kept.
	PathRewrite *PathModifier
	// Mirrors receive copies of the requests (Gateway API RequestMirror).
	Mirrors []Mirror

	// Source names what produced the route, for logs and metrics.
	Source Source

	// NoEndpoints is set when the route's Service has no ready endpoint
	// and Pool is the default-backend annotation's instead: requests
	// carry X-Code 503 and friends, as ingress-nginx's
	// custom-default-backend location sends them.
	NoEndpoints bool
}

// Source identifies the Ingress and backend Service behind a route.
type Source struct {
	Namespace string
	Ingress   string
	Service   string
	// Port is the Service port as written: a number or a name.
	Port string
}

// Rewrite is ingress-nginx's `rewrite "(?i)<path>" <target> break;`.
type Rewrite struct {
	// Pattern is "(?i)" + route path, unanchored, as nginx compiles it.
	Pattern *regexp.Regexp
	// Target may hold $1..$9; a missing group expands to "".
	Target string
	// Redirect is true when Target starts with http:// or https://:
	// nginx then answers 302 with the expanded Location.
	Redirect bool
}

// Pool is the set of ready endpoints behind one Service port.
type Pool struct {
	// Key is "namespace/service:port" with the Service port as written.
	Key       string
	Namespace string
	Service   string
	// Endpoints are ready addresses "host:port", sorted. Empty means 503.
	Endpoints []Endpoint
	// Protocol is backend-protocol; TLS is set for HTTPS and GRPCS. The
	// Key of a pool that is not plain HTTP ends in "#" + an identity of
	// both, so one Service port reached two ways gets two pools.
	Protocol BackendProtocol
	TLS      *UpstreamTLS
	// FastCGI is set for ProtocolFCGI pools.
	FastCGI *FastCGI
}

// Endpoint is one backend address.
type Endpoint struct {
	// Address is "ip:port" ("[ip6]:port"), or "name:port" for ExternalName.
	Address string
}

// Certificate is a parsed key pair from a Secret.
type Certificate struct {
	// Ref is "namespace/name" of the Secret.
	Ref string
	// Cert has Leaf set.
	Cert *tls.Certificate
}

// Listener is one socket of a Gateway with an address of its own
// (--gateway-address-pool): the address and port it is bound on and the
// hosts served there. The Config's own VirtualHosts, CatchAll and
// DefaultCertificate are the shared --http-addr/--https-addr pair, which
// Ingresses (and Gateways without the pool) use; a Listener's hosts are
// served on its socket only.
type Listener struct {
	// Address is an IP literal; Port the TCP port.
	Address string
	Port    int
	// Protocol is ListenerHTTP (plain HTTP/1.1 and h2c) or ListenerTLS
	// (HTTPS terminated by SNI, and TLS passthrough hosts).
	Protocol ListenerProtocol
	// VirtualHosts are sorted by Host, as Config.VirtualHosts.
	VirtualHosts []*VirtualHost
	CatchAll     *VirtualHost
	// DefaultCertificate is the key into Config.Certificates served for
	// an unknown SNI on this socket; "" falls back to the Config's.
	DefaultCertificate string
	// Gateway is "namespace/name", for logs.
	Gateway string
}

// ListenerProtocol is what a Listener's socket speaks.
type ListenerProtocol uint8

const (
	ListenerHTTP ListenerProtocol = iota
	ListenerTLS
)

func (p ListenerProtocol) String() string {
	if p == ListenerTLS {
		return "TLS"
	}
	return "HTTP"
}

// Key names the socket: "address:port/protocol".
func (l *Listener) Key() string {
	return net.JoinHostPort(l.Address, strconv.Itoa(l.Port)) + "/" + l.Protocol.String()
}
