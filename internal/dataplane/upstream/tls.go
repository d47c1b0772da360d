package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Transports holds one transport per distinct backend protocol and TLS
// identity (routecfg.UpstreamTLS.ID): pools that talk to their backends
// the same way share connections. A transport survives config swaps while
// some pool still uses its identity, so idle connections and TLS sessions
// are kept; one no longer used has its idle connections closed.
type Transports struct {
	opts  TransportOptions
	plain *http.Transport
	// fast carries plain-HTTP pools: H1Transport in front of plain.
	fast *H1Transport

	mu     sync.Mutex // serialises Apply
	byID   map[string]*http.Transport
	byPool atomic.Pointer[map[string]Backend]
}

// Backend is how the proxy reaches one pool.
type Backend struct {
	Transport http.RoundTripper
	// Scheme is "http" or "https" for the outgoing URL.
	Scheme string
	// AutoTLS, for backend-protocol AUTO_HTTP, carries the requests that
	// came over HTTPS, with scheme "https" (nginx's proxy_pass $scheme://).
	AutoTLS http.RoundTripper
}

// NewTransports returns a set whose plain HTTP pools use plain, fronted by
// an H1Transport for the requests it can carry.
func NewTransports(opts TransportOptions, plain *http.Transport) *Transports {
	t := &Transports{opts: opts, plain: plain, fast: NewH1Transport(plain), byID: map[string]*http.Transport{}}
	empty := map[string]Backend{}
	t.byPool.Store(&empty)
	return t
}

// For returns the transport and scheme of a pool; unknown pools (and plain
// HTTP ones) get the shared plain transport (H1Transport in front).
func (t *Transports) For(pool string) Backend {
	if b, ok := (*t.byPool.Load())[pool]; ok {
		return b
	}
	return Backend{Transport: t.fast, Scheme: "http"}
}

// Apply maps every pool of cfg to its transport, building new ones only
// for identities not seen before. Call it before the config is served.
func (t *Transports) Apply(pools map[string]*routecfg.Pool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[string]Backend)
	used := map[string]bool{}
	for key, p := range pools {
		if p == nil || p.Protocol == routecfg.ProtocolHTTP {
			continue
		}
		if b, ok := t.special(p, used); ok {
			next[key] = b
			continue
		}
		id := p.Protocol.String()
		if p.TLS != nil {
			id += "/" + p.TLS.ID
		}
		tr := t.byID[id]
		if tr == nil {
			tr = t.build(p)
			t.byID[id] = tr
		}
		used[id] = true
		scheme := "http"
		if p.Protocol.TLS() {
			scheme = "https"
		}
		next[key] = Backend{Transport: tr, Scheme: scheme}
	}
	for id, tr := range t.byID {
		if !used[id] {
			// Requests in flight keep their connections; only idle
			// ones close.
			tr.CloseIdleConnections()
			delete(t.byID, id)
		}
	}
	t.byPool.Store(&next)
}

// CloseIdleConnections closes the idle connections of every transport.
func (t *Transports) CloseIdleConnections() {
	t.fast.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.byID {
		tr.CloseIdleConnections()
	}
}

func (t *Transports) build(p *routecfg.Pool) *http.Transport {
	tr := NewTransport(t.opts)
	var protos http.Protocols
	switch p.Protocol {
	case routecfg.ProtocolHTTPS:
		protos.SetHTTP1(true)
	case routecfg.ProtocolGRPC:
		// h2c with prior knowledge: gRPC servers speak HTTP/2 only.
		protos.SetUnencryptedHTTP2(true)
	case routecfg.ProtocolGRPCS:
		protos.SetHTTP2(true)
		tr.ForceAttemptHTTP2 = true
	}
	tr.Protocols = &protos
	if p.Protocol.TLS() {
		tr.TLSClientConfig = ClientTLSConfig(p.TLS, p.Protocol == routecfg.ProtocolGRPCS)
	}
	return tr
}

// ClientTLSConfig is the TLS client side of proxy-ssl-*, with nginx's
// defaults for a nil u: no verification, no SNI. Verification is done in
// VerifyConnection so that the name checked (proxy-ssl-name) and the SNI
// sent (only with proxy-ssl-server-name) are independent, as in nginx.
func ClientTLSConfig(u *routecfg.UpstreamTLS, h2 bool) *tls.Config {
	c := &tls.Config{
		// The endpoint is dialled by IP: Go sends no SNI for an IP, which
		// matches nginx's proxy_ssl_server_name off.
		InsecureSkipVerify: true,
		// TLS sessions to backends are resumed like nginx's
		// proxy_ssl_session_reuse on.
		ClientSessionCache: tls.NewLRUClientSessionCache(256),
	}
	if h2 {
		c.NextProtos = []string{"h2"}
	} else {
		c.NextProtos = []string{"http/1.1"}
	}
	if u == nil {
		return c
	}
	c.MinVersion, c.MaxVersion = u.MinVersion, u.MaxVersion
	c.CipherSuites = u.CipherSuites
	if u.ServerName && net.ParseIP(u.Name) == nil {
		c.ServerName = u.Name
	}
	if u.ClientCert != nil {
		cert := u.ClientCert
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	if u.Verify {
		roots, name, depth := u.RootCAs, u.Name, u.VerifyDepth
		dns, uris := u.DNSSANs, u.URISANs
		if len(dns)+len(uris) > 0 {
			name = "" // the SANs are checked instead (matchSANs)
		}
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := verifyBackend(cs.PeerCertificates, roots, name, depth, time.Now()); err != nil {
				return err
			}
			return matchSANs(cs.PeerCertificates[0], dns, uris)
		}
	}
	return c
}

var errNoPeerCert = errors.New("backend sent no certificate")

func verifyBackend(peer []*x509.Certificate, roots *x509.CertPool, name string, depth int, now time.Time) error {
	if len(peer) == 0 {
		return errNoPeerCert
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now, Intermediates: x509.NewCertPool()}
	for _, c := range peer[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := peer[0].Verify(opts)
	if err != nil {
		return fmt.Errorf("backend certificate: %w", err)
	}
	for _, ch := range chains {
		if len(ch)-2 <= depth {
			return nil
		}
	}
	return fmt.Errorf("backend certificate chain longer than proxy-ssl-verify-depth %d", depth)
}
