package passthrough

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

func newListener(t *testing.T, route func(string) (Backend, bool)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, Options{TLS: &tls.Config{}, Route: route, PeekTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { l.Close(); l.Shutdown(context.Background()) })
	return l
}

// accept returns the next terminated connection or fails after a bound.
func accept(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case c := <-got:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection handed to TLS")
	}
	return nil
}

// TestPeekBounds: a silent client and an oversized ClientHello are handed
// to TLS termination after the peek timeout or limit, not held.
func TestPeekBounds(t *testing.T) {
	l := newListener(t, func(string) (Backend, bool) { return Backend{}, false })
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	c := accept(t, l)
	if _, ok := c.(*tls.Conn); !ok || time.Since(start) > 4*time.Second {
		t.Errorf("silent client: %T after %s", c, time.Since(start))
	}
	c.Close()

	big, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	// A handshake header announcing 1 MiB.
	_, _ = big.Write([]byte{0x16, 3, 1, 0x40, 0, 1, 0x10, 0, 0})
	_, _ = big.Write(make([]byte, 0x4000-4))
	accept(t, l).Close()
}

// TestPassThrough: the backend receives the ClientHello byte for byte and
// the stream continues both ways.
func TestPassThrough(t *testing.T) {
	be, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	released := make(chan struct{}, 1)
	l := newListener(t, func(sni string) (Backend, bool) {
		if sni != "pass.example" {
			return Backend{}, false
		}
		return Backend{Address: be.Addr().String(), Release: func() { released <- struct{}{} }}, true
	})
	go func() {
		for {
			if _, err := l.Accept(); err != nil {
				return
			}
		}
	}()
	hello := clientHello(t, "pass.example")
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	bc, err := be.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(hello))
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(bc, got); err != nil || !bytes.Equal(got, hello) {
		t.Fatalf("backend got %d bytes (%v), want the ClientHello", len(got), err)
	}
	_, _ = bc.Write([]byte("from backend"))
	reply := make([]byte, len("from backend"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "from backend" {
		t.Fatalf("client got %q (%v)", reply, err)
	}
	c.Close()
	bc.Close()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Error("backend not released after the stream ended")
	}
}

// selfSigned is a certificate for name, and a pool trusting it.
func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTerminate: a Terminate backend gets the decrypted stream, both
// ways; the handshake uses the listener's certificate for the SNI and
// negotiates no ALPN protocol even when the listener's TLS offers h2.
func TestTerminate(t *testing.T) {
	be, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	cert, roots := selfSigned(t, "term.example")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := &tls.Config{NextProtos: []string{"h2", "http/1.1"}, GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}, nil
	}}
	l := New(ln, Options{TLS: base, Route: func(sni string) (Backend, bool) {
		return Backend{Address: be.Addr().String(), Terminate: true}, sni == "term.example"
	}, PeekTimeout: 5 * time.Second})
	t.Cleanup(func() { l.Close(); l.Shutdown(context.Background()) })
	go func() {
		for {
			if _, err := l.Accept(); err != nil {
				return
			}
		}
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: "term.example", RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "" {
		t.Errorf("ALPN %q negotiated on a TCP stream", p)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	bc, err := be.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	got := make([]byte, 4)
	_ = bc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(bc, got); err != nil || string(got) != "ping" {
		t.Fatalf("backend got %q (%v), want the plain bytes", got, err)
	}
	_, _ = bc.Write([]byte("pong"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "pong" {
		t.Fatalf("client got %q (%v)", got, err)
	}
}
