package e2e

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// resumes makes two requests on fresh connections with one session cache
// and reports whether the second resumed the first's TLS session.
func resumes(t *testing.T, m *moat, host string) bool {
	t.Helper()
	c := m.client(nil, false)
	tr := c.Transport.(*http.Transport)
	tr.DisableKeepAlives = true
	tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	var last result
	for i := 0; i < 2; i++ {
		last = get(t, c, "https://"+host+"/")
		if last.status != 200 {
			t.Fatalf("https://%s/: %d", host, last.status)
		}
	}
	return last.tls.DidResume
}

// TestTLSPolicy: TLS 1.2 and 1.3 with session resumption by default; the
// controller ConfigMap's ssl-protocols, ssl-session-cache/-tickets and
// use-http2 change the listener.
func TestTLSPolicy(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "a.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "site", "a.example"),
		ingress("default", "a", "a.example", "site", "/", "web"),
	))
	m := startMoat(t, dir, nil)
	if !resumes(t, m, "a.example") {
		t.Error("default policy: the second connection did not resume the session")
	}
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: "a.example", RootCAs: ca.pool, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Errorf("TLS 1.2 refused by default: %v", err)
	} else {
		conn.Close()
	}

	cm := `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data:
  ssl-protocols: TLSv1.3
  ssl-session-cache: "false"
  ssl-session-tickets: "false"
  use-http2: "false"
`
	dir2 := t.TempDir()
	writeFile(t, dir2, "a.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "site", "a.example"),
		ingress("default", "a", "a.example", "site", "/", "web"),
		cm,
	))
	m2 := startMoat(t, dir2, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat" })
	if resumes(t, m2, "a.example") {
		t.Error("ssl-session-cache and -tickets false: the session resumed")
	}
	if _, err := tls.Dial("tcp", m2.addrs.HTTPS, &tls.Config{ServerName: "a.example", RootCAs: ca.pool, MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("ssl-protocols TLSv1.3: a TLS 1.2 handshake succeeded")
	}
	_, _, proto := handshake(t, m2, "a.example")
	if proto != "http/1.1" {
		t.Errorf("use-http2 false: ALPN %q", proto)
	}
}
