package dataplane

// Full-stack benchmarks: a Dataplane serving HTTPS on a loopback listener
// (the same net/http server, TLS config, handler and upstream transport
// as `moat serve`), proxying to a loopback backend that answers a fixed
// 1 KiB body. They complement the unit benchmarks of the router, the
// certificate store and the handler, and are what `go test -cpuprofile`
// runs to see where a request's CPU goes (docs/performance.md).
//
// The HTTP/1.1 benchmarks use a hand-written client and backend that do
// not allocate per request, so allocs/op and B/op are the proxy's own
// (server, handler, upstream transport). The HTTP/2 and handshake
// benchmarks use crypto/tls and net/http clients, whose allocations are
// included in the figures.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

const benchBodySize = 1024

// benchBackend is a minimal HTTP/1.1 keep-alive server: it reads request
// headers (no bodies) and answers each with the same 1 KiB response.
func benchBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(benchBodySize) + "\r\n\r\n" + string(bytes.Repeat([]byte("x"), benchBodySize)))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 8<<10)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 { // "\r\n": end of headers
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// benchCert is a self-signed ECDSA P-256 certificate for bench.local, the
// key type bench/run.sh uses.
func benchCert(b *testing.B, host string) *tls.Certificate {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// benchStack starts a Dataplane serving bench.local over HTTPS (TLS
// terminated with an ECDSA P-256 certificate, HSTS on, as for a TLS
// Ingress) in front of benchBackend, and returns the HTTPS address. mods
// change the configuration before it is applied.
func benchStack(b *testing.B, accessLog io.Writer, mods ...func(*routecfg.Config)) string {
	b.Helper()
	backend := benchBackend(b)
	cert := benchCert(b, "bench.local")
	d, err := New(Options{DefaultCert: cert, AccessLog: accessLog})
	if err != nil {
		b.Fatal(err)
	}
	cfg := &routecfg.Config{
		VirtualHosts: []*routecfg.VirtualHost{{
			Host:        "bench.local",
			Certificate: "default/bench-tls",
			HSTS:        "max-age=31536000; includeSubDomains",
			Routes: []*routecfg.Route{{
				Path: "/", Match: routecfg.MatchPrefix, Pool: "default/backend:http",
				Source: routecfg.Source{Namespace: "default", Ingress: "bench", Service: "backend", Port: "http"},
			}},
		}},
		Pools: map[string]*routecfg.Pool{"default/backend:http": {
			Key: "default/backend:http", Namespace: "default", Service: "backend",
			Endpoints: []routecfg.Endpoint{{Address: backend}},
		}},
		Certificates: map[string]*routecfg.Certificate{"default/bench-tls": {Ref: "default/bench-tls", Cert: cert}},
	}
	for _, m := range mods {
		m(cfg)
	}
	if err := d.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, nil, ln, nil) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return ln.Addr().String()
}

var benchRequest = []byte("GET /some/path?q=1 HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")

// benchConn is an HTTP/1.1 keep-alive client connection that sends
// benchRequest and reads the response without allocating.
type benchConn struct {
	c    net.Conn
	br   *bufio.Reader
	addr string
	cfg  *tls.Config
	// closing: the last response said Connection: close (the
	// keep-alive-requests limit); the next round trip dials again.
	closing bool
}

func dialBench(addr string, cfg *tls.Config) (*benchConn, error) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return &benchConn{c: c, br: bufio.NewReaderSize(c, 16<<10), addr: addr, cfg: cfg}, nil
}

var errBenchStatus = errors.New("status is not 200")

// roundTrip sends one request and reads the response (status 200,
// Content-Length or chunked body).
func (bc *benchConn) roundTrip() error {
	if bc.closing {
		bc.c.Close()
		c, err := tls.Dial("tcp", bc.addr, bc.cfg)
		if err != nil {
			return err
		}
		bc.c, bc.closing = c, false
		bc.br.Reset(c)
	}
	if _, err := bc.c.Write(benchRequest); err != nil {
		return err
	}
	line, err := bc.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("%w: %q", errBenchStatus, line)
	}
	length, chunked := -1, false
	for {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := headerValue(line, "connection"); ok && bytes.EqualFold(v, []byte("close")) {
			bc.closing = true
		}
		if v, ok := headerValue(line, "content-length"); ok {
			length = atoi(v)
		} else if _, ok := headerValue(line, "transfer-encoding"); ok {
			chunked = true
		}
	}
	if !chunked {
		_, err = bc.br.Discard(length)
		return err
	}
	for {
		line, err := bc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil {
			return err
		}
		if _, err := bc.br.Discard(int(n) + 2); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

func headerValue(line []byte, name string) ([]byte, bool) {
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
		return nil, false
	}
	return bytes.TrimSpace(v), true
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func benchClientTLS() *tls.Config {
	return &tls.Config{ServerName: "bench.local", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
}

// runHTTP1 drives addr with concurrent keep-alive connections (8 per
// GOMAXPROCS), one request per benchmark op.
func runHTTP1(b *testing.B, addr string) {
	cfg := benchClientTLS()
	// Warm: the upstream connection pool and TLS state.
	if bc, err := dialBench(addr, cfg); err != nil {
		b.Fatal(err)
	} else {
		for range 10 {
			if err := bc.roundTrip(); err != nil {
				b.Fatal(err)
			}
		}
		bc.c.Close()
	}
	var failed atomic.Value
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bc, err := dialBench(addr, cfg)
		if err != nil {
			failed.Store(err)
			return
		}
		defer bc.c.Close()
		for pb.Next() {
			if err := bc.roundTrip(); err != nil {
				failed.Store(err)
				return
			}
		}
	})
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkStackHTTPS is HTTPS/1.1 keep-alive through the whole data
// plane, access log off (as bench/run.sh's main rows).
func BenchmarkStackHTTPS(b *testing.B) {
	runHTTP1(b, benchStack(b, nil))
}

// BenchmarkStackHTTPSAccessLog is the same with the JSON access log on,
// written to io.Discard: the cost of building each line.
func BenchmarkStackHTTPSAccessLog(b *testing.B) {
	runHTTP1(b, benchStack(b, io.Discard))
}

// BenchmarkStackH2 is HTTP/2 through the data plane with net/http's
// client (its allocations are included), many streams per connection.
func BenchmarkStackH2(b *testing.B) {
	addr := benchStack(b, nil)
	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{
		TLSClientConfig:    &tls.Config{ServerName: "bench.local", InsecureSkipVerify: true},
		Protocols:          &protos,
		DisableCompression: true,
		DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := tls.Dialer{Config: &tls.Config{ServerName: "bench.local", InsecureSkipVerify: true, NextProtos: []string{"h2"}}}
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func() error {
		resp, err := c.Get("https://bench.local/some/path?q=1")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			return fmt.Errorf("got %s %s", resp.Proto, resp.Status)
		}
		return nil
	}
	if err := get(); err != nil {
		b.Fatal(err)
	}
	var failed atomic.Value
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(); err != nil {
				failed.Store(err)
				return
			}
		}
	})
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// benchHandshakes opens a new TLS connection per op, sends one request
// and closes. With a session cache the handshakes resume (TLS 1.3 PSK);
// without one each is a full ECDHE + ECDSA handshake. Client and server
// share the process, so ns/op includes the client's half.
func benchHandshakes(b *testing.B, cache tls.ClientSessionCache) {
	addr := benchStack(b, nil)
	cfg := benchClientTLS()
	cfg.ClientSessionCache = cache
	var failed atomic.Value
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bc, err := dialBench(addr, cfg)
			if err != nil {
				failed.Store(err)
				return
			}
			err = bc.roundTrip()
			bc.c.Close()
			if err != nil {
				failed.Store(err)
				return
			}
		}
	})
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}

// BenchmarkStackHandshakeFull: a full TLS 1.3 handshake per request.
func BenchmarkStackHandshakeFull(b *testing.B) { benchHandshakes(b, nil) }

// BenchmarkStackHandshakeResumed: TLS 1.3 session resumption per request.
func BenchmarkStackHandshakeResumed(b *testing.B) {
	benchHandshakes(b, tls.NewLRUClientSessionCache(1024))
}
