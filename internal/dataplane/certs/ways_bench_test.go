package certs

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// The ways out of slow RSA-2048 full handshakes, measured against each
// other (issue 14): how much a resumed handshake (moat's session tickets)
// saves over a full one per key type, and what serving an ECDSA
// certificate to the clients that support it, from a pair offered next
// to an RSA one, would save over serving RSA alone. Client and server run
// in one process, as in BenchmarkHandshakeKey: read the ratios between
// rows, and cpu-ns/op (both sides) over handshakes/s on a busy machine.

// keyServer is benchServer for a certificate of the given benchKeys entry.
func keyServer(b *testing.B, ca *benchCA, keyIdx int) *tls.Config {
	b.Helper()
	key, err := benchKeys[keyIdx].gen()
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
	return s.Config()
}

// BenchmarkHandshakeResumption: full against resumed TLS 1.3 handshakes
// through moat's ticket code (tickets sealed and opened by Server), per
// key type. A resumed handshake skips the certificate and its signature
// but still does the key exchange. For a share p of resumed handshakes
// the rate is 1 / ((1-p)/full + p/resumed).
func BenchmarkHandshakeResumption(b *testing.B) {
	ca := newBenchCA(b)
	for i, k := range benchKeys {
		srv := keyServer(b, ca, i)
		for _, resume := range []bool{false, true} {
			name := k.name + "/full"
			if resume {
				name = k.name + "/resumed"
			}
			b.Run(name, func(b *testing.B) {
				cli := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool}
				if resume {
					cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
					if _, _, err := handshakeRead(srv, cli); err != nil {
						b.Fatal(err)
					}
				}
				cpu0 := processCPU()
				for b.Loop() {
					st, _, err := handshakeRead(srv, cli)
					if err != nil || st.DidResume != resume {
						b.Fatalf("handshake: %v (resumed %v, want %v)", err, st.DidResume, resume)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkHandshakeDualCert: a server holding an ECDSA P-256 and an
// RSA-2048 certificate for the same name, choosing per ClientHello the
// way crypto/tls chooses among tls.Config.Certificates (the first the
// client supports, ECDSA listed first), against the RSA certificate
// alone. "dual/ecdsa-client" is a client that accepts ECDSA (every
// current browser and OpenSSL); "dual/rsa-client" one that only offers
// TLS 1.2 RSA suites, which still gets the RSA certificate.
func BenchmarkHandshakeDualCert(b *testing.B) {
	ca := newBenchCA(b)
	certs := make([]tls.Certificate, len(benchKeys))
	for i, k := range benchKeys {
		key, err := k.gen()
		if err != nil {
			b.Fatal(err)
		}
		certs[i] = *ca.issueKey(b, key, "bench.example")
	}
	ecdsaCert, rsaCert := certs[0], certs[1]
	modern := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool}
	rsaOnly := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	for _, c := range []struct {
		name   string
		certs  []tls.Certificate
		cli    *tls.Config
		wantEC bool
	}{
		{"rsa-only/ecdsa-client", []tls.Certificate{rsaCert}, modern, false},
		{"dual/ecdsa-client", []tls.Certificate{ecdsaCert, rsaCert}, modern, true},
		{"dual/rsa-client", []tls.Certificate{ecdsaCert, rsaCert}, rsaOnly, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := &tls.Config{Certificates: c.certs, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
			cpu0 := processCPU()
			for b.Loop() {
				st, _, err := tlsHandshake(srv, c.cli, nil)
				if err != nil {
					b.Fatal(err)
				}
				if gotEC := st.PeerCertificates[0].PublicKeyAlgorithm.String() == "ECDSA"; gotEC != c.wantEC {
					b.Fatalf("served %s", st.PeerCertificates[0].PublicKeyAlgorithm)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
