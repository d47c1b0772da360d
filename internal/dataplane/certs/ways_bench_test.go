package certs

import (
	"crypto/tls"
	"net"
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

// pairs hands out loopback TCP connections from one listener: tcpPair's
// listen per connection costs more than a handshake once many sockets
// are in TIME_WAIT (bind searches for a free port), which drowned the
// handshake in the first measurements.
type pairs struct{ ln net.Listener }

func newPairs(b *testing.B) *pairs {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return &pairs{ln}
}

func (p *pairs) pair(b *testing.B) (client, server net.Conn) {
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s, err := p.ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	return c, s
}

// handshake runs one handshake; the client reads one byte the server
// writes after it, so TLS 1.3 tickets sent after the handshake arrive.
func (p *pairs) handshake(b *testing.B, srv, cli *tls.Config) tls.ConnectionState {
	c, s := p.pair(b)
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		ts := tls.Server(s, srv)
		err := ts.Handshake()
		if err == nil {
			_, err = ts.Write([]byte("x"))
		}
		s.Close()
		errc <- err
	}()
	tc := tls.Client(c, cli)
	if err := tc.Handshake(); err != nil {
		b.Fatal(err)
	}
	if _, err := tc.Read(make([]byte, 1)); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return tc.ConnectionState()
}

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
		p := newPairs(b)
		for _, resume := range []bool{false, true} {
			name := k.name + "/full"
			if resume {
				name = k.name + "/resumed"
			}
			b.Run(name, func(b *testing.B) {
				cli := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool}
				if resume {
					cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
					p.handshake(b, srv, cli)
				}
				cpu0 := processCPU()
				for b.Loop() {
					if st := p.handshake(b, srv, cli); st.DidResume != resume {
						b.Fatalf("resumed %v, want %v", st.DidResume, resume)
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
			p := newPairs(b)
			cpu0 := processCPU()
			for b.Loop() {
				st := p.handshake(b, srv, c.cli)
				if gotEC := st.PeerCertificates[0].PublicKeyAlgorithm.String() == "ECDSA"; gotEC != c.wantEC {
					b.Fatalf("served %s", st.PeerCertificates[0].PublicKeyAlgorithm)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
