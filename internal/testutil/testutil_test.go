package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIssuedCertificatesVerify(t *testing.T) {
	ca := NewCA(t, "test CA")
	crt, key, serial := ca.Issue(t, "a.example", "b.example")
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.SerialNumber.Cmp(serial) != 0 {
		t.Errorf("serial %v, want %v", leaf.SerialNumber, serial)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "b.example", Roots: ca.Pool}); err != nil {
		t.Errorf("server certificate does not verify: %v", err)
	}
	client := ca.Leaf(t, "alice", true)
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify: %v", err)
	}
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool}); err == nil {
		t.Error("client certificate verifies for server auth")
	}
	if y := TLSSecretYAML("ns", "s", crt, key); !strings.Contains(y, "type: kubernetes.io/tls") || !strings.Contains(y, "namespace: ns") {
		t.Errorf("secret manifest:\n%s", y)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Minute, "third call", func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}
