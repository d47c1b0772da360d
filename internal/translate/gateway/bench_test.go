package gateway_test

// BenchmarkRequestPath compares what one request costs when its route
// comes from an HTTPRoute and from the equivalent Ingress: both are
// translated from manifests by the real translate, applied to a real data
// plane serving HTTPS on loopback, and driven with the same HTTP/1.1
// keep-alive requests to a loopback backend. cpu-ns/op is the process's
// CPU time per request, steadier than ns/op on a busy machine. Run both
// in one go:
//
//	go test ./internal/translate/gateway -run '^$' -bench RequestPath -benchtime 20000x -count 5

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/testutil"
	"github.com/moat-ingress/moat/internal/translate"
)

const benchIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench, namespace: default}
spec:
  tls: [{hosts: [bench.local], secretName: bench-tls}]
  rules:
  - host: bench.local
    http:
      paths:
      - {path: /other, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}
      - {path: /some, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}
`

const benchHTTPRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: moat
  listeners:
  - {name: https, protocol: HTTPS, port: 443, hostname: bench.local, tls: {certificateRefs: [{name: bench-tls}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bench, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /other}}]
    backendRefs: [{name: backend, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /some}}]
    backendRefs: [{name: backend, port: 80}]
`

func BenchmarkRequestPath(b *testing.B) {
	backend := benchBackend(b)
	_, port, _ := net.SplitHostPort(backend)
	ca := testutil.NewCA(b, "bench CA")
	crt, key, _ := ca.Issue(b, "bench.local")
	common := strings.Join([]string{testutil.TLSSecretYAML("default", "bench-tls", crt, key), fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: backend, namespace: default}
spec: {ports: [{name: http, port: 80, targetPort: %[1]s}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: backend-1, namespace: default, labels: {kubernetes.io/service-name: backend}}
addressType: IPv4
ports: [{name: http, port: %[1]s}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`, port)}, "\n---\n")
	for _, c := range []struct{ name, manifests string }{{"ingress", benchIngress}, {"httproute", benchHTTPRoute}} {
		b.Run(c.name, func(b *testing.B) {
			objs, diags := k8s.Decode([]byte(common+"\n---\n"+c.manifests), "bench.yaml")
			cfg, diags := translate.Translate(store.FromObjects(objs, diags), translate.Options{WatchWithoutClass: true})
			for _, d := range diags {
				if d.Severity >= diag.Warning {
					b.Fatalf("translate: %s", d)
				}
			}
			addr := serveConfig(b, cfg)
			runRequests(b, addr)
		})
	}
}

func serveConfig(b *testing.B, cfg *routecfg.Config) string {
	b.Helper()
	ca := testutil.NewCA(b, "default CA")
	d, err := dataplane.New(dataplane.Options{DefaultCert: ca.Leaf(b, "default", false, "default.invalid")})
	if err != nil {
		b.Fatal(err)
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

// runRequests drives addr with 8 keep-alive HTTPS connections per
// GOMAXPROCS, one request per op; a connection moat closes (its
// keep-alive-requests limit) is dialled again.
func runRequests(b *testing.B, addr string) {
	cfg := &tls.Config{ServerName: "bench.local", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	req, _ := http.ReadRequest(bufio.NewReader(bytes.NewReader(benchRequest)))
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	dial := func() (*conn, error) {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return nil, err
		}
		return &conn{c, bufio.NewReaderSize(c, 16<<10)}, nil
	}
	one := func(cn **conn) error {
		if *cn == nil {
			c, err := dial()
			if err != nil {
				return err
			}
			*cn = c
		}
		c := *cn
		if _, err := c.c.Write(benchRequest); err != nil {
			return err
		}
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		if resp.Close {
			c.c.Close()
			*cn = nil
		}
		return nil
	}
	var warm *conn
	for range 10 {
		if err := one(&warm); err != nil {
			b.Fatal(err)
		}
	}
	var failed atomic.Value
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var c *conn
		defer func() {
			if c != nil {
				c.c.Close()
			}
		}()
		for pb.Next() {
			if err := one(&c); err != nil {
				failed.Store(err)
				return
			}
		}
	})
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// On a shared machine ns/op follows the other jobs; the process's
	// CPU time per request (client, moat and backend alike in both
	// sub-benchmarks) follows them much less.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchBackend answers every request with the same 1 KiB response.
func benchBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
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
