package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

type benchCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newBenchCA(t testing.TB) *benchCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &benchCA{cert: c, key: key, pool: pool}
}

func (ca *benchCA) issue(t testing.TB, cn string, usage x509.ExtKeyUsage, dns ...string) *tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// benchServer builds a Server for host, with client authentication by
// clientCA when set.
func benchServer(t testing.TB, ca *benchCA, host string, clientCA *benchCA) (*Server, *routecfg.Config, *routecfg.ClientAuth) {
	def, err := GenerateDefault(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.issue(t, host, x509.ExtKeyUsageServerAuth, host)
	vh := &routecfg.VirtualHost{Host: host, TLS: true, Certificate: "ns/site"}
	cfg := &routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{vh},
		Certificates: map[string]*routecfg.Certificate{"ns/site": {Ref: "ns/site", Cert: cert}}}
	if clientCA != nil {
		vh.ClientAuth = &routecfg.ClientAuth{Secret: "ns/ca", Mode: routecfg.VerifyOn, CAs: clientCA.pool, VerifyDepth: 1}
	}
	store := New(def)
	store.Apply(cfg)
	s := NewServer(store, benchNow, []string{"h2", "http/1.1"})
	s.Apply(cfg)
	return s, cfg, vh.ClientAuth
}

// tcpPair returns the two ends of a loopback TCP connection (net.Pipe is
// unbuffered: both TLS peers writing at once would deadlock).
func tcpPair() (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	return client, <-acc
}

// tlsHandshake runs one handshake over an in-memory pipe and, with ca, the
// handler-side verification of the client certificate.
func tlsHandshake(srv *tls.Config, cli *tls.Config, ca *routecfg.ClientAuth) (tls.ConnectionState, *ClientResult, error) {
	c, s := tcpPair()
	defer c.Close()
	defer s.Close()
	type out struct {
		res *ClientResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		start := time.Now()
		ts := tls.Server(s, srv)
		err := ts.Handshake()
		var res *ClientResult
		if err == nil && ca != nil {
			res = VerifyClient(ca, ts.ConnectionState().PeerCertificates, time.Now())
		}
		serverNanos.Add(int64(time.Since(start)))
		done <- out{res, err}
	}()
	tc := tls.Client(c, cli)
	err := tc.Handshake()
	st := tc.ConnectionState()
	o := <-done
	if err == nil {
		err = o.err
	}
	return st, o.res, err
}

func TestServerClientAuthAndResumption(t *testing.T) {
	ca, clientCA, otherCA := newBenchCA(t), newBenchCA(t), newBenchCA(t)
	s, cfg, auth := benchServer(t, ca, "mtls.example", clientCA)
	srv := s.Config()
	good := clientCA.issue(t, "client", x509.ExtKeyUsageClientAuth)
	bad := otherCA.issue(t, "client", x509.ExtKeyUsageClientAuth)
	// A bad or missing certificate does not fail the handshake: the
	// handler answers 400 instead.
	for name, c := range map[string]*tls.Certificate{"good": good, "bad": bad, "none": nil} {
		cli := &tls.Config{ServerName: "mtls.example", RootCAs: ca.pool}
		if c != nil {
			cli.Certificates = []tls.Certificate{*c}
		}
		_, res, err := tlsHandshake(srv, cli, auth)
		if err != nil {
			t.Fatalf("%s: handshake failed: %v", name, err)
		}
		want := map[string]string{"good": "SUCCESS", "bad": "FAILED:unable to get local issuer certificate", "none": "NONE"}[name]
		if res.Verify != want || res.OK != (name == "good") {
			t.Errorf("%s: verify %q ok %v, want %q", name, res.Verify, res.OK, want)
		}
	}
	// Another SNI gets no certificate request.
	cli := &tls.Config{ServerName: "other.example", InsecureSkipVerify: true, Certificates: []tls.Certificate{*good}}
	if st, _, err := tlsHandshake(srv, cli, nil); err != nil || len(st.PeerCertificates) == 0 {
		t.Fatalf("other SNI: %v", err)
	}
	// Sessions resume with moat's tickets, also across a config swap,
	// until ssl-session-timeout (10m by default) after they were issued.
	cli = &tls.Config{ServerName: "mtls.example", RootCAs: ca.pool, ClientSessionCache: tls.NewLRUClientSessionCache(4), Certificates: []tls.Certificate{*good}}
	for i, want := range []bool{false, true} {
		// TLS 1.3 tickets arrive after the handshake: read them.
		st, _, err := handshakeRead(srv, cli)
		if err != nil || st.DidResume != want {
			t.Fatalf("handshake %d: resumed %v, want %v (%v)", i, st.DidResume, want, err)
		}
		s.Apply(cfg) // a config swap keeps the ticket keys
	}
	clockSkew.Store(int64(11 * time.Minute))
	defer clockSkew.Store(0)
	if st, _, err := handshakeRead(srv, cli); err != nil || st.DidResume {
		t.Fatalf("after the session timeout: resumed %v (%v)", st.DidResume, err)
	}
}

// serverNanos sums the server side's wall time in tlsHandshake (it
// includes waiting for the client's flights).
var serverNanos atomic.Int64

// clockSkew moves benchNow forward, for ticket expiry.
var clockSkew atomic.Int64

func benchNow() time.Time { return time.Now().Add(time.Duration(clockSkew.Load())) }

// handshakeRead is tlsHandshake for resumption tests: the client reads once
// so that TLS 1.3 session tickets sent after the handshake are received.
func handshakeRead(srv, cli *tls.Config) (tls.ConnectionState, *ClientResult, error) {
	c, s := tcpPair()
	defer c.Close()
	go func() {
		ts := tls.Server(s, srv)
		if ts.Handshake() == nil {
			_, _ = ts.Write([]byte("x"))
		}
		s.Close()
	}()
	tc := tls.Client(c, cli)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, nil, err
	}
	buf := make([]byte, 1)
	_, _ = tc.Read(buf)
	return tc.ConnectionState(), nil, nil
}

// BenchmarkHandshake measures full TLS 1.3 handshakes (ECDSA P-256, no
// resumption) over loopback per second, without and with client-
// certificate verification (the handshake plus the handler's chain
// check). Client and server run in the same process, so handshakes/s and
// cpu-ns/op (process CPU time per handshake, steadier than wall time on a
// busy machine) count both sides' work.
func BenchmarkHandshake(b *testing.B) {
	ca, clientCA := newBenchCA(b), newBenchCA(b)
	for _, mtls := range []bool{false, true} {
		name := "server-only"
		var cCA *benchCA
		if mtls {
			name, cCA = "client-verify", clientCA
		}
		b.Run(name, func(b *testing.B) {
			s, _, auth := benchServer(b, ca, "bench.example", cCA)
			srv := s.Config()
			cli := &tls.Config{ServerName: "bench.example", RootCAs: ca.pool}
			if mtls {
				cli.Certificates = []tls.Certificate{*clientCA.issue(b, "client", x509.ExtKeyUsageClientAuth)}
			}
			b.ResetTimer()
			serverNanos.Store(0)
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				_, res, err := tlsHandshake(srv, cli, auth)
				if err != nil || (mtls && !res.OK) {
					b.Fatalf("handshake: %v %+v", err, res)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			b.ReportMetric(float64(serverNanos.Load())/float64(b.N), "server-ns/op")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
