package routecfg

import (
	"time"
)

// StreamProtocol is the transport of a Stream.
type StreamProtocol string

// The two stream transports, spelled as Kubernetes spells port protocols.
const (
	StreamTCP StreamProtocol = "TCP"
	StreamUDP StreamProtocol = "UDP"
)

// Stream is one entry of the tcp-services or udp-services ConfigMap
// (--tcp-services-configmap, --udp-services-configmap): a port moat
// listens on and the pool whose endpoints it forwards raw bytes or
// datagrams to. Config.Streams is sorted by Protocol, then Port.
type Stream struct {
	Protocol StreamProtocol
	// Port is the listening port, 1-65535.
	Port int
	// Pool is the key into Config.Pools of the Service port's endpoints.
	Pool string
	// Service names the backend for logs and metrics:
	// "namespace/name:port" as written in the entry.
	Service string
	// ProxyDecode reads a PROXY protocol header (v1 or v2) from each
	// client connection (the entry's first :PROXY); ProxyEncode sends a
	// v1 header to the upstream (the second). TCP only.
	ProxyDecode, ProxyEncode bool
	// Settings are the controller ConfigMap's proxy-stream-* keys.
	Settings StreamSettings
}

// StreamSettings are nginx's stream proxy settings as ingress-nginx sets
// them for every TCP and UDP service.
type StreamSettings struct {
	// Timeout closes a connection or UDP session after this long without
	// data in either direction (proxy-stream-timeout, nginx proxy_timeout).
	Timeout time.Duration
	// NextUpstream tries another endpoint when a connection to one fails
	// (proxy-stream-next-upstream), at most NextUpstreamTries attempts in
	// all (0: no limit) within NextUpstreamTimeout (0: no limit).
	NextUpstream        bool
	NextUpstreamTries   int
	NextUpstreamTimeout time.Duration
	// Responses is how many datagrams a UDP session expects from the
	// upstream per client datagram before it ends (proxy-stream-responses,
	// nginx proxy_responses); the next datagram starts a new session.
	Responses int
}
