package routecfg

import (
	"crypto/tls"
	"crypto/x509"
	"regexp"
	"time"
)

// VerifyMode is auth-tls-verify-client (nginx's ssl_verify_client) for a
// host that requests client certificates; "off" is a nil ClientAuth.
type VerifyMode uint8

const (
	// VerifyOn requires a certificate that chains to the CA: 400 otherwise.
	VerifyOn VerifyMode = iota
	// VerifyOptional lets a request without certificate through (header
	// ssl-client-verify: NONE) but answers 400 to a bad one.
	VerifyOptional
	// VerifyOptionalNoCA requests a certificate and passes it on without
	// requiring it to chain to the CA (the backend verifies it).
	VerifyOptionalNoCA
)

func (m VerifyMode) String() string {
	switch m {
	case VerifyOn:
		return "on"
	case VerifyOptional:
		return "optional"
	case VerifyOptionalNoCA:
		return "optional_no_ca"
	}
	return "unknown"
}

// ClientAuth is a host's client-certificate (mTLS) policy, from the
// auth-tls-* annotations of the oldest Ingress that sets them for the host
// (ingress-nginx's server-level CertificateAuth).
type ClientAuth struct {
	// Secret is "namespace/name" of the Secret holding ca.crt.
	Secret string
	Mode   VerifyMode
	// CAs are the trusted roots from ca.crt; also sent to clients as the
	// acceptable CA names. Nil only when Error is set.
	CAs *x509.CertPool
	// VerifyDepth is the most intermediate CAs allowed between the client
	// certificate and a root of CAs (nginx ssl_verify_depth, default 1).
	VerifyDepth int
	// ErrorPage, when set, is where a failed verification redirects (302)
	// instead of answering 400 (nginx error_page 495 496 = URL).
	ErrorPage string
	// PassCertificate sends the URL-encoded PEM client certificate upstream
	// in the ssl-client-cert header.
	PassCertificate bool
	// MatchCN, when set, must match the subject DN ("CN=...,O=...") or the
	// request gets 403 (nginx `if ($ssl_client_s_dn !~ ...)`).
	MatchCN *regexp.Regexp
	// CRLs are the revocation lists of the Secret's ca.crl. When set, every
	// certificate of the client's chain needs a current CRL from its issuer
	// (nginx's ssl_crl checks the whole chain).
	CRLs []*x509.RevocationList
	// Error is set when the annotations ask for mTLS but the CA cannot be
	// loaded: like ingress-nginx (AuthTLSError) the host then answers 403
	// to every HTTPS request rather than serving without the check.
	Error string
}

// BackendProtocol is backend-protocol: how moat talks to a pool.
type BackendProtocol uint8

const (
	// ProtocolHTTP is HTTP/1.1 in clear text, the default.
	ProtocolHTTP BackendProtocol = iota
	// ProtocolHTTPS is HTTP/1.1 over TLS.
	ProtocolHTTPS
	// ProtocolGRPC is HTTP/2 in clear text (h2c, prior knowledge).
	ProtocolGRPC
	// ProtocolGRPCS is HTTP/2 over TLS.
	ProtocolGRPCS
	// ProtocolAutoHTTP is the client's own scheme: HTTP/1.1 in clear text
	// for requests that came over HTTP, over TLS for those that came over
	// HTTPS (nginx's proxy_pass $scheme://).
	ProtocolAutoHTTP
	// ProtocolFCGI is FastCGI (nginx's fastcgi_pass); Pool.FastCGI holds
	// its settings.
	ProtocolFCGI
)

func (p BackendProtocol) String() string {
	switch p {
	case ProtocolHTTP:
		return "HTTP"
	case ProtocolHTTPS:
		return "HTTPS"
	case ProtocolGRPC:
		return "GRPC"
	case ProtocolGRPCS:
		return "GRPCS"
	case ProtocolAutoHTTP:
		return "AUTO_HTTP"
	case ProtocolFCGI:
		return "FCGI"
	}
	return "unknown"
}

// FastCGI is a FastCGI pool's settings (fastcgi-index,
// fastcgi-params-configmap).
type FastCGI struct {
	// Index is appended to $fastcgi_script_name for URIs ending in "/".
	Index string
	// Params are sent after the standard ones, in order, so they win.
	Params []FastCGIParam
}

// FastCGIParam is one fastcgi_param; Value uses FastCGIVars.
type FastCGIParam struct {
	Name  string
	Value Template
}

// TLS reports whether the protocol always runs over TLS.
func (p BackendProtocol) TLS() bool { return p == ProtocolHTTPS || p == ProtocolGRPCS }

// UpstreamTLS is how moat's TLS client talks to a pool's endpoints (the
// proxy-ssl-* annotations). ingress-nginx defaults apply to zero values:
// no verification, no SNI, no client certificate.
type UpstreamTLS struct {
	// ID identifies the settings (a digest of every field and of the
	// Secret's content): pools with equal IDs share one transport, and the
	// transport survives config swaps while the ID stays.
	ID string
	// Secret is "namespace/name" of proxy-ssl-secret, or "".
	Secret string
	// ClientCert is presented to the backend when set (tls.crt/tls.key).
	ClientCert *tls.Certificate
	// Verify checks the backend certificate against RootCAs and Name.
	Verify bool
	// RootCAs are from the Secret's ca.crt; required when Verify.
	RootCAs *x509.CertPool
	// VerifyDepth is the most intermediate CAs allowed (default 1).
	VerifyDepth int
	// Name is the name verified in the backend certificate and, with
	// ServerName, sent as SNI (proxy-ssl-name; default service.namespace.svc).
	Name string
	// ServerName sends Name as SNI (proxy-ssl-server-name).
	ServerName bool
	// DNSSANs and URISANs, when either is set, replace Name in the
	// verification: the certificate must carry one of them
	// (BackendTLSPolicy subjectAltNames; a DNS SAN may match a wildcard
	// in the certificate, a URI must be equal).
	DNSSANs, URISANs []string
	// MinVersion and MaxVersion bound the protocol (proxy-ssl-protocols);
	// zero means Go's defaults (TLS 1.2 to 1.3).
	MinVersion, MaxVersion uint16
	// CipherSuites are the TLS 1.2 suites offered (proxy-ssl-ciphers); nil
	// means Go's defaults.
	CipherSuites []uint16
}

// ServerTLS is the listener's TLS policy from the controller ConfigMap
// (ssl-protocols, ssl-ciphers, ssl-session-tickets, ssl-session-timeout).
// A nil *ServerTLS in Config means DefaultServerTLS.
type ServerTLS struct {
	MinVersion, MaxVersion uint16
	// CipherSuites are the TLS 1.2 suites; TLS 1.3 suites are fixed in Go.
	CipherSuites []uint16
	// SessionTickets enables resumption. Go has no server-side session
	// cache, so unlike nginx (tickets off, shared cache on) this is the
	// only resumption mechanism and defaults to on.
	SessionTickets bool
	// SessionTimeout is how long a ticket may be used to resume.
	SessionTimeout time.Duration
	// DisableHTTP2 stops offering h2 by ALPN (use-http2: false).
	DisableHTTP2 bool
	// RejectUnknownSNI refuses handshakes whose SNI names no host of the
	// configuration, or that send none (ssl-reject-handshake).
	RejectUnknownSNI bool
}

// DefaultServerTLS is TLS 1.2 and 1.3 with ECDHE+AEAD suites (the Go-
// supported part of ingress-nginx's default ssl-ciphers), tickets on and
// nginx's 10 minute ssl-session-timeout.
func DefaultServerTLS() *ServerTLS {
	return &ServerTLS{
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS13,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		SessionTickets: true,
		SessionTimeout: 10 * time.Minute,
	}
}

// Passthrough sends a host's TLS connections, unterminated, to a pool
// (ssl-passthrough): the backend of the host's "/" path.
type Passthrough struct {
	// Pool is the key into Config.Pools.
	Pool string
	// Source is the Ingress that enabled it.
	Source Source
	// Backends, when set, are weighted pools (TLSRoute backendRefs); a
	// connection picks one, and one without a pool is closed. Pool is
	// then the first resolved one, for the pool bookkeeping.
	Backends []Backend
	// Terminate decrypts the TLS with the host's Certificate and forwards
	// the plain stream (a TLSRoute on a TLS listener in mode Terminate).
	Terminate bool
}
