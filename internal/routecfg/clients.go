package routecfg

import "time"

// ClientLimits are the controller-wide limits on client connections
// (ingress-nginx's ConfigMap: client-header-timeout, client-body-timeout,
// keep-alive, keep-alive-requests, max-worker-connections and nginx's
// send_timeout). The data plane applies them to its HTTP and HTTPS
// listeners; docs/security.md lists what happens at each one.
type ClientLimits struct {
	// HeaderTimeout bounds reading a request's header (and the TLS
	// handshake before the first one).
	HeaderTimeout time.Duration
	// BodyTimeout bounds the wait between two reads of a request body.
	BodyTimeout time.Duration
	// SendTimeout bounds the wait between two writes to the client.
	SendTimeout time.Duration
	// KeepAlive is how long an idle keep-alive connection is kept; 0
	// turns keep-alive off.
	KeepAlive time.Duration
	// KeepAliveRequests is the number of requests served on one
	// connection before it is closed; 0: no limit.
	KeepAliveRequests int
	// MaxConnections bounds the open client connections over the HTTP
	// and HTTPS listeners together; 0: derived from the open-file limit.
	MaxConnections int
	// ProxyProtocol: each connection starts with a PROXY header
	// (use-proxy-protocol), read within ProxyProtocolTimeout
	// (proxy-protocol-header-timeout).
	ProxyProtocol        bool
	ProxyProtocolTimeout time.Duration
	// HTTP2MaxConcurrentStreams bounds the open streams of one HTTP/2
	// connection (http2-max-concurrent-streams); 0: 128.
	HTTP2MaxConcurrentStreams int
	// HeaderLine bounds a request line (414 beyond) or header line (400
	// beyond), HeaderTotal a whole request head (400 beyond):
	// large-client-header-buffers, one buffer and all of them.
	HeaderLine, HeaderTotal int
}

// DefaultClientLimits returns ingress-nginx's defaults: 60 s header, body
// and send timeouts, 75 s keep-alive, 1000 requests per connection, 16384
// connections.
func DefaultClientLimits() ClientLimits {
	return ClientLimits{
		HeaderTimeout:     60 * time.Second,
		BodyTimeout:       60 * time.Second,
		SendTimeout:       60 * time.Second,
		KeepAlive:         75 * time.Second,
		KeepAliveRequests: 1000,
		MaxConnections:    16384,

		ProxyProtocolTimeout:      5 * time.Second,
		HTTP2MaxConcurrentStreams: 128,
		HeaderLine:                8 << 10,
		HeaderTotal:               32 << 10,
	}
}
