// Package hostile runs moat in file mode in-process and attacks it over
// real loopback sockets as a hostile client would: stalled headers and
// bodies, slowloris up to the connection limit, request-smuggling probes
// checked against a backend that records every byte it receives, HTTP/2
// floods, an auth-url that loops into moat, and an access log that cannot
// be written. Every test is bounded in time and in connections; the
// timeouts under test are set short through the controller ConfigMap.
package hostile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/testutil"
)

// host is the virtual host every test routes; it has a TLS certificate.
const host = "h.test"

type moat struct {
	dir   string
	docs  []string // the manifests after the ConfigMap
	addrs app.Addrs
	logs  *testutil.SyncBuffer
	roots *x509.CertPool
}

// setup describes one moat: ConfigMap data, extra manifests and a
// ServeConfig hook.
type setup struct {
	config map[string]string
	extra  []string
	mod    func(*app.ServeConfig)
}

// start runs moat serving host (HTTP and HTTPS) and a host-less rule,
// both to backend, until the test ends.
func start(t *testing.T, backend string, s setup) *moat {
	t.Helper()
	dir := t.TempDir()
	ca := testutil.NewCA(t, "moat hostile CA")
	crt, key, _ := ca.Issue(t, host)
	docs := []string{testutil.TLSSecretYAML("default", "tls", crt, key), service("backend", backend),
		fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}
spec:
  tls: [{hosts: [%q], secretName: tls}]
  rules:
  - host: %q
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}]
`, host, host)}
	docs = append(docs, s.extra...)
	writeManifests(t, dir, s.config, docs)
	logs := &testutil.SyncBuffer{}
	ready := make(chan app.Addrs, 1)
	c := app.ServeConfig{
		Manifests:                []string{dir},
		HTTPAddr:                 "127.0.0.1:0",
		HTTPSAddr:                "127.0.0.1:0",
		AdminAddr:                "127.0.0.1:0",
		IngressClass:             "moat",
		WatchIngressWithoutClass: true,
		ConfigMap:                "ingress/moat",
		Log:                      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Ready:                    func(a app.Addrs) { ready <- a },
		HoldOff:                  20 * time.Millisecond,
		MaxDelay:                 100 * time.Millisecond,
	}
	if s.mod != nil {
		s.mod(&c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, c) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("moat exited with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("moat did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("moat logs:\n%s", tail(logs.String(), 8000))
		}
	})
	select {
	case a := <-ready:
		return &moat{dir: dir, docs: docs, addrs: a, logs: logs, roots: ca.Pool}
	case err := <-done:
		t.Fatalf("moat failed to start: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("moat not ready within 20s\n%s", logs.String())
	}
	return nil
}

// writeManifests writes the ConfigMap with config and docs, atomically.
func writeManifests(t *testing.T, dir string, config map[string]string, docs []string) {
	t.Helper()
	var cm strings.Builder
	cm.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n")
	for k, v := range config {
		fmt.Fprintf(&cm, "  %s: %q\n", k, v)
	}
	all := append([]string{cm.String()}, docs...)
	tmp := filepath.Join(dir, ".all.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(strings.Join(all, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "all.yaml")); err != nil {
		t.Fatal(err)
	}
}

// reconfigure replaces the ConfigMap's data.
func (m *moat) reconfigure(t *testing.T, config map[string]string) {
	writeManifests(t, m.dir, config, m.docs)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func service(name, backend string) string {
	h, p, _ := net.SplitHostPort(backend)
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %[3]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, namespace: default, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[3]s}]
endpoints: [{addresses: [%[2]q], conditions: {ready: true}}]
`, name, h, p)
}

// dial opens a raw connection to moat's HTTP listener, or a TLS one
// (HTTP/1.1 by ALPN) to its HTTPS listener.
func (m *moat) dial(t *testing.T, https bool) net.Conn {
	t.Helper()
	if !https {
		c, err := net.DialTimeout("tcp", m.addrs.HTTP, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", m.addrs.HTTPS, &tls.Config{ServerName: host, RootCAs: m.roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// client is a well-behaved HTTP client of moat (HTTP/1.1 or HTTP/2 by
// ALPN on HTTPS).
func (m *moat) client(h2 bool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		target := m.addrs.HTTP
		if strings.HasSuffix(addr, ":443") {
			target = m.addrs.HTTPS
		}
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
	tr := &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: m.roots}, ForceAttemptHTTP2: h2, DisableKeepAlives: !h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// metric returns the value of a metric line from /metrics ("" when absent).
func (m *moat) metric(t *testing.T, series string) string {
	t.Helper()
	res, err := http.Get("http://" + m.addrs.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return ""
}

// response reads one HTTP/1 response from c within d; its status, or an
// error when the connection ends first.
func response(c net.Conn, d time.Duration) (*http.Response, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// closedWithin waits for moat to close c (EOF or reset) within d,
// discarding what it sends; it returns what was read.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", d, got.String())
	}
	return got.Bytes()
}

// recorder is a backend that keeps every byte it receives (per
// connection) and answers each request 200 "ok".
type recorder struct {
	addr  string
	mu    sync.Mutex
	conns []*bytes.Buffer
	paths []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{addr: ln.Addr().String()}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			r.mu.Lock()
			r.paths = append(r.paths, req.Method+" "+req.URL.Path)
			r.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "ok %d", len(body))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(&recordListener{Listener: ln, r: r}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// raw is everything the backend has received, over all connections.
func (r *recorder) raw() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, c := range r.conns {
		b.Write(c.Bytes())
	}
	return b.String()
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

type recordListener struct {
	net.Listener
	r *recorder
}

func (l *recordListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	buf := &bytes.Buffer{}
	l.r.mu.Lock()
	l.r.conns = append(l.r.conns, buf)
	l.r.mu.Unlock()
	return &recordConn{Conn: c, r: l.r, buf: buf}, nil
}

type recordConn struct {
	net.Conn
	r   *recorder
	buf *bytes.Buffer
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.mu.Lock()
	c.buf.Write(p[:n])
	c.r.mu.Unlock()
	return n, err
}
