package certs

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// tlsServer accepts TLS connections on loopback, completes the handshake
// with s.GetCertificate and records the SNI each client sent.
type tlsServer struct {
	addr string
	mu   sync.Mutex
	snis []string
}

func startTLS(t *testing.T, s *Store) *tlsServer {
	t.Helper()
	srv := &tlsServer{}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			srv.mu.Lock()
			srv.snis = append(srv.snis, hello.ServerName)
			srv.mu.Unlock()
			return s.GetCertificate(hello)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	srv.addr = ln.Addr().String()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					// Wait for the client to hang up so it can read the
					// whole handshake.
					c.Read(make([]byte, 1))
				}
			})
		}
	})
	return srv
}

func (srv *tlsServer) lastSNI() string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.snis[len(srv.snis)-1]
}

// handshake dials with serverName as SNI. With roots the client verifies
// the chain and the name, so success proves the right certificate.
func handshake(t *testing.T, addr, serverName string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	conf := &tls.Config{ServerName: serverName, RootCAs: roots, Time: func() time.Time { return testNow }}
	if roots == nil {
		conf.InsecureSkipVerify = true
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		t.Fatalf("handshake with SNI %q: %v", serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func TestHandshakes(t *testing.T) {
	ca := newTestCA(t)
	def, err := GenerateDefault(testNow)
	if err != nil {
		t.Fatal(err)
	}
	foo := ca.leaf(t, nil, "foo", "foo.com")
	wild := ca.leaf(t, nil, "wild", "*.foo.com")
	s := New(def)
	s.Apply(config(map[string]*tls.Certificate{"foo.com": foo, "*.foo.com": wild}))
	srv := startTLS(t, s)

	t.Run("exact", func(t *testing.T) {
		got := handshake(t, srv.addr, "foo.com", ca.pool)
		if got.Subject.CommonName != "foo" || !slices.Equal(got.DNSNames, []string{"foo.com"}) {
			t.Errorf("got %q %q", got.Subject, got.DNSNames)
		}
	})
	t.Run("exact, upper case", func(t *testing.T) {
		if got := handshake(t, srv.addr, "FOO.com", ca.pool); got.Subject.CommonName != "foo" {
			t.Errorf("got %q", got.Subject)
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		got := handshake(t, srv.addr, "www.foo.com", ca.pool)
		if got.Subject.CommonName != "wild" || !slices.Equal(got.DNSNames, []string{"*.foo.com"}) {
			t.Errorf("got %q %q", got.Subject, got.DNSNames)
		}
	})
	for _, sni := range []string{"unknown.org", "a.www.foo.com"} {
		t.Run("unknown SNI "+sni, func(t *testing.T) {
			got := handshake(t, srv.addr, sni, nil)
			if got.Issuer.CommonName != FakeCommonName || !slices.Equal(got.DNSNames, []string{"ingress.local"}) {
				t.Errorf("got issuer %q SANs %q, want the fake certificate", got.Issuer, got.DNSNames)
			}
		})
	}
	t.Run("no SNI", func(t *testing.T) {
		// Clients send no SNI for an IP address (RFC 6066 §3).
		host, _, _ := net.SplitHostPort(srv.addr)
		got := handshake(t, srv.addr, host, nil)
		if sni := srv.lastSNI(); sni != "" {
			t.Fatalf("client sent SNI %q", sni)
		}
		if got.Issuer.CommonName != FakeCommonName {
			t.Errorf("got issuer %q, want the fake certificate", got.Issuer)
		}
	})
}

func TestHandshakeAfterApply(t *testing.T) {
	ca := newTestCA(t)
	def := ca.leaf(t, nil, "generated", "ingress.local")
	v1 := ca.leaf(t, nil, "foo-v1", "foo.com")
	v2 := ca.leaf(t, nil, "foo-v2", "foo.com")
	s := New(def)
	srv := startTLS(t, s)

	if got := handshake(t, srv.addr, "foo.com", nil); got.Subject.CommonName != "generated" {
		t.Fatalf("before Apply: got %q", got.Subject)
	}
	s.Apply(config(map[string]*tls.Certificate{"foo.com": v1}))
	if got := handshake(t, srv.addr, "foo.com", ca.pool); got.Subject.CommonName != "foo-v1" {
		t.Fatalf("after first Apply: got %q", got.Subject)
	}
	// A renewed Secret: the same host, a new key pair.
	s.Apply(config(map[string]*tls.Certificate{"foo.com": v2}))
	if got := handshake(t, srv.addr, "foo.com", ca.pool); got.Subject.CommonName != "foo-v2" {
		t.Fatalf("after second Apply: got %q", got.Subject)
	}
	// The Secret is deleted: back to the default.
	s.Apply(config(nil))
	if got := handshake(t, srv.addr, "foo.com", nil); got.Subject.CommonName != "generated" {
		t.Fatalf("after removal: got %q", got.Subject)
	}
}

func pemChain(c *tls.Certificate) []byte {
	var out []byte
	for _, der := range c.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

func pemKey(t *testing.T, c *tls.Certificate) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
