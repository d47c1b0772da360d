package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/certkit"
)

// serveDir runs moat serve (file mode) on dir with loopback listeners until
// the test ends, and returns its HTTPS address.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	ready := make(chan app.Addrs, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, app.ServeConfig{
			Manifests: []string{dir}, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			IngressClass: "moat", WatchIngressWithoutClass: true, HTTPSRedirectPort: 443,
			Log: slog.New(slog.DiscardHandler), Ready: func(a app.Addrs) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("moat serve: %v", err)
		}
	})
	select {
	case a := <-ready:
		return a.HTTPS
	case err := <-done:
		t.Fatalf("moat serve: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("moat serve not ready within 15s")
	}
	return ""
}

// backendManifests writes a Service web:80 whose EndpointSlice points at a
// local HTTP server, and an Ingress for host using secret.
func backendManifests(t *testing.T, dir, host, secret string) {
	t.Helper()
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from web") }))
	t.Cleanup(be.Close)
	_, port, _ := net.SplitHostPort(be.Listener.Addr().String())
	m := `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80, targetPort: ` + port + `}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: ` + port + `}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [` + host + `], secretName: ` + secret + `}]
  rules:
  - host: ` + host + `
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
}

// get fetches https://host/ from moat's HTTPS address, verifying the
// certificate with roots as curl --cacert does.
func get(t *testing.T, addr, host string, roots *x509.CertPool) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("GET https://%s/: %v", host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func writePEM(t *testing.T, path, typ string, ders ...[]byte) {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecretTLSRoundTrip: a certificate issued by an intermediate, given to
// moat secret tls in the wrong order, comes out leaf first; served by
// moat, that very certificate and its intermediate are presented.
func TestSecretTLSRoundTrip(t *testing.T) {
	now := time.Now()
	// A root and an intermediate, as a public CA has (the local CA of
	// moat cert new has path length 0, so build them by hand).
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(100 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	rootCert, _ := x509.ParseCertificate(rootDER)
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test intermediate"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(100 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	interDER, _ := x509.CreateCertificate(rand.Reader, interTmpl, rootCert, &interKey.PublicKey, rootKey)
	inter, _ := x509.ParseCertificate(interDER)
	leaf, err := (&certkit.CA{Cert: inter, Key: interKey}).Issue(rand.Reader, []string{"shop.example.test"}, now, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	files := filepath.Join(t.TempDir(), "in")
	if err := os.Mkdir(files, 0o755); err != nil {
		t.Fatal(err)
	}
	crt, key, ca := filepath.Join(files, "bundle.crt"), filepath.Join(files, "shop.key"), filepath.Join(files, "root.crt")
	writePEM(t, crt, "CERTIFICATE", inter.Raw, leaf.Cert.Raw) // wrong order
	if err := os.WriteFile(key, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	writePEM(t, ca, "CERTIFICATE", rootCert.Raw)

	manifest, log, code := runIO(t, "", "secret", "tls", "shop-tls", "--cert", crt, "--key", key, "--ca", ca, "--namespace", "default", "--host", "shop.example.test")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if !strings.Contains(log, `put tls.crt in chain order: "shop.example.test" -> "test intermediate"`) || strings.Contains(log, "warning") {
		t.Errorf("stderr:\n%s", log)
	}
	if strings.Contains(log, "PRIVATE KEY") || strings.Count(manifest, "tls.key: ") != 1 {
		t.Errorf("the key must appear only in the manifest")
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	backendManifests(t, dir, "shop.example.test", "shop-tls")
	// A plain key is the one thing lint flags (--encrypt is the fix).
	if out, code := run(t, "", "lint", dir); code != 0 || !strings.Contains(out, "warning PlainPrivateKey") || !strings.Contains(out, "0 errors, 1 warning") {
		t.Errorf("lint of the Secret and Ingress: exit %d\n%s", code, out)
	}

	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	resp, body := get(t, serveDir(t, dir), "shop.example.test", roots)
	peers := resp.TLS.PeerCertificates
	if len(peers) != 2 || !peers[0].Equal(leaf.Cert) || !peers[1].Equal(inter) || body != "hello from web" {
		t.Errorf("presented %d certificates (leaf match %v), body %q", len(peers), len(peers) > 0 && peers[0].Equal(leaf.Cert), body)
	}
}

func TestSecretTLSRefusals(t *testing.T) {
	ca, err := certkit.NewCA(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ca.Issue(rand.Reader, []string{"a.example.test"}, time.Now(), time.Hour)
	b, _ := ca.Issue(rand.Reader, []string{"b.example.test"}, time.Now(), time.Hour)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aCrt, bKey := write("a.crt", a.CertPEM), write("b.key", b.KeyPEM)
	aKey := write("a.key", a.KeyPEM)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mismatched key", []string{"--cert", aCrt, "--key", bKey}, `does not match the certificate in ` + aCrt + ` ("a.example.test")`},
		{"host not covered", []string{"--cert", aCrt, "--key", aKey, "--host", "b.example.test"}, `does not cover host "b.example.test" (it covers a.example.test)`},
		{"key given as cert", []string{"--cert", aKey, "--key", aKey}, "no CERTIFICATE block"},
		{"bad name", []string{"Shop_TLS", "--cert", aCrt, "--key", aKey}, `Secret name "Shop_TLS"`},
	} {
		args := append([]string{"secret", "tls"}, tc.args...)
		if strings.HasPrefix(tc.args[0], "-") {
			args = append([]string{"secret", "tls", "s"}, tc.args...)
		}
		out, code := run(t, "", args...)
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want 1 and %q:\n%s", tc.name, code, tc.want, out)
		}
		// The key never leaks into messages.
		if strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("%s: output shows the key:\n%s", tc.name, out)
		}
	}
}

// TestCertNewSecretServe is the issue's acceptance path: moat cert new, then
// the moat secret tls line it prints, then moat serve; a TLS client that
// trusts only the printed --cacert file reaches the host (no -k).
func TestCertNewSecretServe(t *testing.T) {
	work := t.TempDir()
	certDir := filepath.Join(work, "certs")
	out, code := run(t, "", "cert", "new", "--host", "my-web-app.test", "--out", certDir, "--days", "30")
	if code != 0 {
		t.Fatalf("cert new: exit %d\n%s", code, out)
	}
	var secretLine, curlLine string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "moat secret tls ") {
			secretLine = l
		}
		if strings.HasPrefix(l, "curl ") {
			curlLine = l
		}
	}
	if secretLine == "" || !strings.Contains(curlLine, "--cacert "+filepath.Join(certDir, "ca.crt")) {
		t.Fatalf("printed lines:\n%s", out)
	}
	// Run the printed line; "> FILE" is the shell's job, done here.
	args := strings.Fields(strings.TrimPrefix(secretLine, "moat "))
	redirect := args[len(args)-1]
	args = args[:len(args)-2]
	out, errOut, code := runIO(t, "", args...)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", secretLine, code, out, errOut)
	}
	manifests := filepath.Join(work, "manifests")
	if err := os.Mkdir(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(manifests, filepath.Base(redirect)), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	backendManifests(t, manifests, "my-web-app.test", "my-web-app-test-tls")

	caPEM, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	_, body := get(t, serveDir(t, manifests), "my-web-app.test", roots)
	if body != "hello from web" {
		t.Errorf("body %q", body)
	}

	// A second certificate reuses the CA, so the same ca.crt trusts it.
	out, code = run(t, "", "cert", "new", "--host", "other.test", "--out", certDir)
	if code != 0 || !strings.Contains(out, "Reused the local CA") {
		t.Errorf("second cert new: exit %d\n%s", code, out)
	}
	if fi, err := os.Stat(filepath.Join(certDir, "my-web-app.test.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi, err)
	}
	if out, code := run(t, "", "cert", "new", "--host", "not a host", "--out", certDir); code != 1 {
		t.Errorf("bad host: exit %d\n%s", code, out)
	}
}
