// Package e2e runs moat in file mode in-process, on loopback listeners, and
// talks to it with real HTTP and TLS clients, as a user's curl would.
package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/testutil"
)

// moat is one running instance.
type moat struct {
	addrs app.Addrs
	dir   string
	logs  *syncBuffer
}

type syncBuffer = testutil.SyncBuffer

// startMoat serves dir (or extra paths) until the test ends.
func startMoat(t *testing.T, dir string, mod func(*app.ServeConfig)) *moat {
	t.Helper()
	logs := &syncBuffer{}
	ready := make(chan app.Addrs, 1)
	c := app.ServeConfig{
		Manifests:                []string{dir},
		HTTPAddr:                 "127.0.0.1:0",
		HTTPSAddr:                "127.0.0.1:0",
		AdminAddr:                "127.0.0.1:0",
		IngressClass:             "moat",
		WatchIngressWithoutClass: true,
		HTTPSRedirectPort:        443,
		Log:                      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AccessLog:                logs,
		AccessLogJSON:            true, // the tests read moat's JSON lines
		Ready:                    func(a app.Addrs) { ready <- a },
		HoldOff:                  20 * time.Millisecond,
		MaxDelay:                 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&c)
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
		case <-time.After(10 * time.Second):
			t.Errorf("moat did not stop within 10s")
		}
		if t.Failed() {
			t.Logf("moat logs:\n%s", logs.String())
		}
	})
	select {
	case a := <-ready:
		return &moat{addrs: a, dir: dir, logs: logs}
	case err := <-done:
		t.Fatalf("moat failed to start: %v\n%s", err, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("moat not ready within 15s\n%s", logs.String())
	}
	return nil
}

// startEcho runs an echo backend on addr ("127.0.0.1:0" for any port).
func startEcho(t *testing.T, addr, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("echo listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: echo.Handler(name), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// client returns an HTTP client that sends every connection to moat's
// listener for the scheme, whatever the URL's host: the URL's host is then
// the SNI and the Host header, as with curl --resolve.
func (m *moat) client(roots *x509.CertPool, h2 bool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		target := m.addrs.HTTP
		if strings.HasSuffix(addr, ":443") {
			target = m.addrs.HTTPS
		}
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
	tlsCfg := &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil}
	tr := &http.Transport{DialContext: dial, TLSClientConfig: tlsCfg, ForceAttemptHTTP2: h2, DisableCompression: true}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type result struct {
	status int
	header http.Header
	body   []byte
	echo   echo.Response
	proto  string
	tls    *tls.ConnectionState
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	r, err := do(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return r
}

func do(c *http.Client, url string) (result, error) {
	resp, err := c.Get(url)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	r := result{status: resp.StatusCode, header: resp.Header, body: body, proto: resp.Proto, tls: resp.TLS}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &r.echo)
	}
	return r, nil
}

// writeFile writes a manifest atomically (rename), as editors do.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// testCA issues certificates for tests (testutil.CA under the names
// these tests use).
type testCA struct {
	*testutil.CA
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	ca := testutil.NewCA(t, "moat e2e CA")
	return &testCA{CA: ca, cert: ca.Cert, key: ca.Key, pool: ca.Pool}
}

// secret returns a kubernetes.io/tls Secret manifest for the names.
func (ca *testCA) secret(t *testing.T, ns, name string, dns ...string) string {
	t.Helper()
	crt, key, _ := ca.Issue(t, dns...)
	return testutil.TLSSecretYAML(ns, name, crt, key)
}

// service returns a Service plus an EndpointSlice pointing at backends
// ("ip:port", all with the same port).
func service(ns, name string, backends ...string) string {
	var eps strings.Builder
	port := "80"
	for _, b := range backends {
		h, p, _ := net.SplitHostPort(b)
		port = p
		fmt.Fprintf(&eps, "- addresses: [%q]\n  conditions: {ready: true}\n", h)
	}
	if len(backends) == 0 {
		eps.WriteString("[]\n")
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  ports: [{name: http, port: 80, targetPort: %[3]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[2]s-1
  namespace: %[1]s
  labels: {kubernetes.io/service-name: %[2]s}
addressType: IPv4
ports: [{name: http, port: %[3]s}]
endpoints:
%[4]s`, ns, name, port, eps.String())
}

// ingress returns a v1 Ingress for one host with path→service pairs.
func ingress(ns, name, host, tlsSecret string, paths ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s, namespace: %s}\nspec:\n", name, ns)
	if tlsSecret != "" {
		fmt.Fprintf(&b, "  tls: [{hosts: [%q], secretName: %s}]\n", host, tlsSecret)
	}
	fmt.Fprintf(&b, "  rules:\n  - host: %q\n    http:\n      paths:\n", host)
	for i := 0; i+1 < len(paths); i += 2 {
		fmt.Fprintf(&b, "      - {path: %q, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}\n", paths[i], paths[i+1])
	}
	return b.String()
}

func join(docs ...string) string { return strings.Join(docs, "\n---\n") }

// eventually polls cond until it holds or the deadline passes. It bounds
// waiting for asynchronous effects; it does not assert speed.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", within, what)
}
