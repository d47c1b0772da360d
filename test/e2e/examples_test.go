package e2e

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// copyExample copies examples/<name> into a temp dir, applying replacements
// per file (to point EndpointSlices at test backends).
func copyExample(t *testing.T, name string, repl map[string][2]string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for file, r := range repl {
			if file == e.Name() || file == "*" {
				s = strings.ReplaceAll(s, r[0], r[1])
			}
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestBlogPostAsWritten serves the post's manifests unchanged with
// --ingress-class nginx: my-web-app.com reaches web-service with the default
// certificate, and the diagnostics name each mistake of the tls block.
func TestBlogPostAsWritten(t *testing.T) {
	be := startEcho(t, "127.0.0.1:0", "web-service")
	dir := copyExample(t, "blog-post/as-written", map[string][2]string{"endpointslice.yaml": {"port: 3000", "port: " + port(be)}})
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.IngressClass = "nginx" })
	r := get(t, m.client(nil, true), "https://my-web-app.com/some/page")
	if r.status != 200 || r.echo.Name != "web-service" || r.echo.Path != "/some/page" {
		t.Fatalf("https://my-web-app.com/some/page: %d %+v", r.status, r.echo)
	}
	if iss := r.tls.PeerCertificates[0].Issuer.CommonName; iss != fakeIssuer {
		t.Fatalf("served certificate issued by %q, want the default certificate", iss)
	}
	d := m.diagnostics(t)
	for _, want := range []string{
		`"reason": "TLSSecretNameMissing"`, `"field": "spec.tls[0].secretName"`,
		`"reason": "TLSHostsMissing"`, `"field": "spec.tls[1].hosts"`,
		`"reason": "TLSSecretNotFound"`, `tls secret \"router-tls\" not found`,
		`"reason": "InvalidHost"`, `"reason": "DeprecatedAPIVersion"`, `"reason": "AnnotationPrefixIgnored"`,
		"web-app-tls.yaml",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnostics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("diagnostics:\n%s", d)
	}
}

// TestBlogPostHostFilledIn: with the placeholder filled in as a reader
// would, my-web-app.com has a tls entry (without a Secret), so it gets the
// default certificate and plain HTTP is redirected.
func TestBlogPostHostFilledIn(t *testing.T) {
	be := startEcho(t, "127.0.0.1:0", "web-service")
	dir := copyExample(t, "blog-post/as-written", map[string][2]string{
		"endpointslice.yaml": {"port: 3000", "port: " + port(be)},
		"web-app-tls.yaml":   {"${YOUR_CERTIFICATE_COMMON_NAME}", "my-web-app.com"},
	})
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.IngressClass = "nginx" })
	c := m.client(nil, false)
	r := get(t, c, "https://my-web-app.com/")
	if r.status != 200 || r.echo.Name != "web-service" || r.tls.PeerCertificates[0].Issuer.CommonName != fakeIssuer {
		t.Fatalf("https://my-web-app.com/: %d %+v", r.status, r.echo)
	}
	if r := get(t, c, "http://my-web-app.com/x"); r.status != 308 || r.header.Get("Location") != "https://my-web-app.com/x" {
		t.Fatalf("http://my-web-app.com/x: %d %q, want 308 to https", r.status, r.header.Get("Location"))
	}
	if d := m.diagnostics(t); !strings.Contains(d, "TLSEntrySplit") || !strings.Contains(d, "application/app-router-tls") {
		t.Fatalf("diagnostics do not explain the split tls entry and the Secret in namespace application:\n%s", d)
	}
}

// TestBlogPostCorrected: the corrected manifests serve my-web-app.com with
// its own certificate, verified by its CA.
func TestBlogPostCorrected(t *testing.T) {
	be := startEcho(t, "127.0.0.1:0", "web-service")
	dir := copyExample(t, "blog-post/corrected", map[string][2]string{"endpointslice.yaml": {"port: 3000", "port: " + port(be)}})
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.IngressClass = "nginx" })
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(dir, "my-web-app-ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("reading the example's certificate: %v", err)
	}
	r := get(t, m.client(pool, true), "https://my-web-app.com/")
	if r.status != 200 || r.echo.Name != "web-service" || r.proto != "HTTP/2.0" {
		t.Fatalf("https://my-web-app.com/: %d %s %+v", r.status, r.proto, r.echo)
	}
	if d := m.diagnostics(t); strings.Contains(d, `"severity": "error"`) || strings.Contains(d, `"severity": "warning"`) {
		t.Fatalf("the corrected example still has findings:\n%s", d)
	}
}

// TestQuickstart serves examples/quickstart: both paths over HTTPS with
// the shipped certificate, HTTP/2 by ALPN, and the redirect.
func TestQuickstart(t *testing.T) {
	a := startEcho(t, "127.0.0.1:0", "echo-a")
	b := startEcho(t, "127.0.0.1:0", "echo-b")
	dir := copyExample(t, "quickstart", map[string][2]string{"services.yaml": {"9001", port(a)}})
	// Second replacement pass for echo-b.
	s, _ := os.ReadFile(filepath.Join(dir, "services.yaml"))
	_ = os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(strings.ReplaceAll(string(s), "9002", port(b))), 0o644)
	m := startMoat(t, dir, nil)
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(filepath.Join(dir, "demo-ca.crt"))
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("demo-ca.crt holds no certificate")
	}
	c := m.client(pool, true)
	if r := get(t, c, "https://demo.localhost/hello"); r.status != 200 || r.echo.Name != "echo-a" || r.proto != "HTTP/2.0" {
		t.Fatalf("/hello: %d %s %+v", r.status, r.proto, r.echo)
	}
	if r := get(t, c, "https://demo.localhost/api/items?x=1"); r.status != 200 || r.echo.Name != "echo-b" || r.echo.RawQuery != "x=1" {
		t.Fatalf("/api/items: %d %+v", r.status, r.echo)
	}
	if r := get(t, m.client(nil, false), "http://demo.localhost/hello"); r.status != 308 {
		t.Fatalf("http: %d, want 308", r.status)
	}
}
