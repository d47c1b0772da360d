package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/admin"
)

// TestDebugCerts: the admin endpoint lists every host with its
// certificate, issuer, SANs and expiry, and why a host fell back to the
// default certificate.
func TestDebugCerts(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := newCA(t), newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "c.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "good", "good.example", "www.good.example"),
		opaqueSecret("default", "client-ca", map[string][]byte{"ca.crt": clientCA.caPEM()}),
		annotate(ingress("default", "good", "good.example", "good", "/", "web"), map[string]string{"auth-tls-secret": "default/client-ca"}),
		ingress("default", "missing", "missing.example", "nope", "/", "web"),
		ingress("default", "plain", "plain.example", "", "/", "web"),
	))
	m := startMoat(t, dir, nil)
	resp, err := http.Get("http://" + m.addrs.Admin + "/debug/certs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []admin.HostCertificate
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	by := map[string]admin.HostCertificate{}
	for _, r := range rows {
		by[r.Host] = r
	}
	g := by["good.example"]
	if g.Secret != "default/good" || g.Default || g.Issuer != "CN=moat e2e CA" || strings.Join(g.SANs, ",") != "good.example,www.good.example" ||
		g.NotAfter.IsZero() || g.ClientAuth != "on default/client-ca" {
		t.Errorf("good.example: %+v", g)
	}
	miss := by["missing.example"]
	if !miss.Default || !miss.TLS || !strings.Contains(miss.DefaultReason, "secret default/nope not found") {
		t.Errorf("missing.example: %+v", miss)
	}
	if p := by["plain.example"]; p.TLS || !p.Default || p.DefaultReason != "" {
		t.Errorf("plain.example: %+v", p)
	}
}
