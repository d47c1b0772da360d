package certkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// intermediate issues a CA certificate below ca, as a public CA's
// issuing intermediate would be.
func intermediate(t *testing.T, ca *CA) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "issuing CA"},
		NotBefore: now, NotAfter: now.Add(time.Hour * 24 * 365), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: keyID(&key.PublicKey)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key}
}

func TestOrderChain(t *testing.T) {
	root, err := NewCA(rand.Reader, now)
	if err != nil {
		t.Fatal(err)
	}
	// A CA with path length 0 cannot issue an intermediate, but ordering
	// only follows names, keys and signatures.
	inter := intermediate(t, root)
	leaf, err := inter.Issue(rand.Reader, []string{"app.example.com"}, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := root.Issue(rand.Reader, []string{"other.example.com"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	chain, r, unused := OrderChain(leaf.Cert, []*x509.Certificate{root.Cert, stranger.Cert, inter.Cert, leaf.Cert})
	if len(chain) != 2 || !chain[0].Equal(leaf.Cert) || !chain[1].Equal(inter.Cert) {
		t.Errorf("chain = %v", names(chain))
	}
	if r == nil || !r.Equal(root.Cert) {
		t.Errorf("root = %v", r)
	}
	if len(unused) != 1 || !unused[0].Equal(stranger.Cert) {
		t.Errorf("unused = %v", names(unused))
	}
	if p := ChainOrderProblem([]*x509.Certificate{leaf.Cert, inter.Cert, root.Cert}); p != "" {
		t.Errorf("ordered chain reported: %s", p)
	}
	if p := ChainOrderProblem([]*x509.Certificate{inter.Cert, leaf.Cert}); !strings.Contains(p, `certificate 1 ("issuing CA")`) {
		t.Errorf("reversed chain: %q", p)
	}
}

func names(cs []*x509.Certificate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, Name(c))
	}
	return out
}

func TestParseErrors(t *testing.T) {
	leafPEM := func() []byte {
		ca, _ := NewCA(rand.Reader, now)
		l, _ := ca.Issue(rand.Reader, []string{"a.example"}, now, time.Hour)
		return l.CertPEM
	}()
	for _, tc := range []struct {
		name, in, want string
		key            bool
	}{
		{"empty", "", "empty", false},
		{"base64 of PEM", base64.StdEncoding.EncodeToString(leafPEM), "decode it once", false},
		{"DER", "\x30\x82\x01", "DER, not PEM", false},
		{"key where cert expected", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no CERTIFICATE block", false},
		{"encrypted key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted", true},
		{"cert where key expected", string(leafPEM), "no PRIVATE KEY block", true},
	} {
		var err error
		if tc.key {
			_, _, err = ParsePrivateKey([]byte(tc.in))
		} else {
			_, err = ParseCertificates([]byte(tc.in))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestLocalCA checks that the CA is kept and reused, its key private, and
// that an issued certificate verifies against it and loads as a key pair.
func TestLocalCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	ca, created, err := LoadOrCreateCA(dir, rand.Reader, now)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	if fi, err := os.Stat(filepath.Join(dir, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode: %v %v", fi.Mode(), err)
	}
	again, created, err := LoadOrCreateCA(dir, rand.Reader, now)
	if err != nil || created || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("reuse: %v, created %v", err, created)
	}
	leaf, err := again.Issue(rand.Reader, []string{"App.Example.com", "*.example.com", "127.0.0.1"}, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, h := range []string{"app.example.com", "x.example.com", "127.0.0.1"} {
		if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: now}); err != nil {
			t.Errorf("verify %s: %v", h, err)
		}
	}
	if w := Weaknesses(leaf.Cert); len(w) != 0 {
		t.Errorf("weaknesses of a fresh certificate: %v", w)
	}
	// Half a CA is refused rather than silently replaced.
	if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateCA(dir, rand.Reader, now); err == nil || !strings.Contains(err.Error(), "only one of") {
		t.Errorf("half CA: %v", err)
	}
}
