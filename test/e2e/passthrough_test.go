package e2e

import (
	"crypto/tls"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// TestSSLPassthrough: with --enable-ssl-passthrough, a host annotated
// ssl-passthrough reaches its backend's own TLS (the client sees the
// backend's certificate) while other hosts on the same port are terminated
// by moat; without the flag the annotation is ignored.
func TestSSLPassthrough(t *testing.T) {
	dir := t.TempDir()
	ca, backendCA := newCA(t), newCA(t)
	passBE := startTLSEcho(t, "pass-be", backendCA.leaf(t, "pass.example", false, "pass.example"), nil)
	web := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "p.yaml", join(
		service("default", "pass-be", passBE),
		service("default", "web", web),
		ca.secret(t, "default", "site", "term.example", "pass.example"),
		annotate(ingress("default", "pass", "pass.example", "site", "/", "pass-be"), map[string]string{"ssl-passthrough": "true"}),
		ingress("default", "term", "term.example", "site", "/", "web"),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.EnableSSLPassthrough = true })

	// The passthrough host: verified with the backend's CA, so the
	// certificate is the backend's own, and the backend saw TLS.
	r := get(t, m.client(backendCA.pool, false), "https://pass.example/")
	if r.status != 200 || r.echo.Name != "pass-be" || !r.echo.TLS {
		t.Fatalf("pass.example: %d %+v", r.status, r.echo)
	}
	// A terminated host on the same port, verified with moat's CA.
	for _, h2 := range []bool{false, true} {
		r = get(t, m.client(ca.pool, h2), "https://term.example/")
		if r.status != 200 || r.echo.Name != "web" || r.echo.TLS {
			t.Fatalf("term.example (h2 %v): %d %+v", h2, r.status, r.echo)
		}
	}
	// Unknown and missing SNI still get moat's default certificate.
	for _, sni := range []string{"", "unknown.example"} {
		if _, issuer, _ := handshake(t, m, sni); issuer != fakeIssuer {
			t.Errorf("SNI %q: issuer %q, want the default certificate", sni, issuer)
		}
	}
	// A TLS 1.2 ClientHello is routed the same way.
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: "pass.example", RootCAs: backendCA.pool, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Errorf("TLS 1.2 passthrough handshake: %v", err)
	} else {
		conn.Close()
	}

	// Without the flag, moat terminates the host itself: its certificate
	// verifies with moat's CA (the backend's would not).
	m2 := startMoat(t, dir, nil)
	if _, err := do(m2.client(ca.pool, false), "https://pass.example/"); err != nil {
		t.Errorf("pass.example without --enable-ssl-passthrough: %v", err)
	}
}
