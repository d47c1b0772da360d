package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// benchKeys are the two key types the kit measures: RSA-2048 (what
// cert-manager issues by default and ingress-nginx's default certificate
// uses) and ECDSA P-256.
var benchKeys = []struct {
	name string
	gen  func() (crypto.Signer, error)
}{
	{"ecdsa-p256", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
	{"rsa-2048", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }},
}

// issueKey is benchCA.issue for any key type.
func (ca *benchCA) issueKey(t testing.TB, key crypto.Signer, dns string) *tls.Certificate {
	t.Helper()
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: dns}, DNSNames: []string{dns},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// BenchmarkSignKey is the signature a full TLS 1.3 handshake costs the
// server (RSA-PSS with SHA-256 for RSA, ECDSA with SHA-256), per key type.
// Read it as a ratio between the key types, or between builds of the same
// code (GOEXPERIMENT=boringcrypto, GOFIPS140) run back to back.
func BenchmarkSignKey(b *testing.B) {
	digest := sha256.Sum256([]byte("moat handshake transcript"))
	for _, k := range benchKeys {
		b.Run(k.name, func(b *testing.B) {
			key, err := k.gen()
			if err != nil {
				b.Fatal(err)
			}
			var opts crypto.SignerOpts = crypto.SHA256
			if _, ok := key.(*rsa.PrivateKey); ok {
				opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
			}
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := key.Sign(rand.Reader, digest[:], opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkHandshakeKey is BenchmarkHandshake's server-only full TLS 1.3
// handshake per key type (client and server in one process: cpu-ns/op
// counts both sides; the client's verification is cheap for both types).
func BenchmarkHandshakeKey(b *testing.B) {
	ca := newBenchCA(b)
	for _, k := range benchKeys {
		b.Run(k.name, func(b *testing.B) {
			key, err := k.gen()
			if err != nil {
				b.Fatal(err)
			}
			def, err := GenerateDefault(time.Now())
			if err != nil {
				b.Fatal(err)
			}
			cert := ca.issueKey(b, key, "bench.example")
			cfg := &routecfg.Config{
				VirtualHosts: []*routecfg.VirtualHost{{Host: "bench.example", TLS: true, Certificate: "ns/site"}},
				Certificates: map[string]*routecfg.Certificate{"ns/site": {Ref: "ns/site", Cert: cert}},
			}
			store := New(def)
			store.Apply(cfg)
			s := NewServer(store, benchNow, []string{"h2", "http/1.1"})
			s.Apply(cfg)
			srv := s.Config()
			cli := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool}
			cpu0 := processCPU()
			for b.Loop() {
				if st, _, err := tlsHandshake(srv, cli, nil); err != nil || st.DidResume {
					b.Fatalf("handshake: %v (resumed %v)", err, st.DidResume)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
