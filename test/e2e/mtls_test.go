package e2e

import (
	"crypto/tls"
	"net/url"
	"strings"
	"testing"
)

// TestClientCertificates: auth-tls-* per host, decided at the handshake by
// SNI and answered like ingress-nginx: 400 for a missing or failed
// certificate, 403 for a CN mismatch, 421 for a connection verified for
// another host, and the ssl-client-* headers to the backend.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA, otherCA := newCA(t), newCA(t), newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	caData := map[string][]byte{"ca.crt": clientCA.caPEM()}
	writeFile(t, dir, "mtls.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "site", "secure.example", "opt.example", "noca.example", "cn.example", "page.example", "public.example", "broken.example"),
		opaqueSecret("default", "client-ca", caData),
		annotate(ingress("default", "secure", "secure.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/client-ca", "auth-tls-pass-certificate-to-upstream": "true"}),
		annotate(ingress("default", "opt", "opt.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/client-ca", "auth-tls-verify-client": "optional"}),
		annotate(ingress("default", "noca", "noca.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/client-ca", "auth-tls-verify-client": "optional_no_ca"}),
		annotate(ingress("default", "cn", "cn.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/client-ca", "auth-tls-match-cn": "CN=allowed"}),
		annotate(ingress("default", "page", "page.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/client-ca", "auth-tls-error-page": "https://login.example/cert"}),
		annotate(ingress("default", "broken", "broken.example", "site", "/", "web"), map[string]string{
			"auth-tls-secret": "default/missing"}),
		ingress("default", "public", "public.example", "site", "/", "web"),
	))
	m := startMoat(t, dir, nil)

	good := clientCA.leaf(t, "allowed", true)
	other := clientCA.leaf(t, "someone", true)
	wrongCA := otherCA.leaf(t, "allowed", true)

	cases := []struct {
		name, sni, host string
		cert            *tls.Certificate
		status          int
		verify          string // ssl-client-verify seen by the backend
	}{
		{"verified", "secure.example", "secure.example", good, 200, "SUCCESS"},
		{"no certificate", "secure.example", "secure.example", nil, 400, ""},
		{"wrong CA", "secure.example", "secure.example", wrongCA, 400, ""},
		{"optional without certificate", "opt.example", "opt.example", nil, 200, "NONE"},
		{"optional with good certificate", "opt.example", "opt.example", good, 200, "SUCCESS"},
		{"optional with wrong CA", "opt.example", "opt.example", wrongCA, 400, ""},
		{"optional_no_ca with wrong CA", "noca.example", "noca.example", wrongCA, 200, "FAILED:unable to get local issuer certificate"},
		{"CN allowed", "cn.example", "cn.example", good, 200, "SUCCESS"},
		{"CN mismatch", "cn.example", "cn.example", other, 403, ""},
		{"error page", "page.example", "page.example", nil, 302, ""},
		{"CA secret missing refuses", "broken.example", "broken.example", good, 403, ""},
		// Domain fronting: a connection verified for secure.example is
		// not used for another host...
		{"verified SNI, other Host", "secure.example", "public.example", good, 421, ""},
		// ...and a connection negotiated for a host without mTLS is not
		// used for an mTLS host (nginx: 400; 421 makes HTTP/2 clients
		// that coalesced connections retry with the right SNI)...
		{"public SNI, mTLS Host", "public.example", "secure.example", good, 421, ""},
		// ...but without SNI (clients by IP) the Host's policy applies
		// as in nginx: no certificate was requested, so 400.
		{"no SNI, mTLS Host", "", "secure.example", good, 400, ""},
		{"public host", "public.example", "public.example", nil, 200, ""},
	}
	for _, tc := range cases {
		for _, h2 := range []bool{false, true} {
			c := m.tlsClient(tc.sni, tc.cert, h2)
			req := "https://" + tc.host + "/"
			r, err := doHeaders(c, req, map[string]string{"Ssl-Client-Verify": "SUCCESS (forged)"})
			if err != nil {
				t.Fatalf("%s (h2 %v): %v", tc.name, h2, err)
			}
			if r.status != tc.status {
				t.Errorf("%s (h2 %v): status %d, want %d: %s", tc.name, h2, r.status, tc.status, r.body)
				continue
			}
			if tc.status == 302 && r.header.Get("Location") != "https://login.example/cert" {
				t.Errorf("%s: Location %q", tc.name, r.header.Get("Location"))
			}
			if tc.status != 200 {
				continue
			}
			got := strings.Join(r.echo.Headers["Ssl-Client-Verify"], ",")
			if got != tc.verify {
				t.Errorf("%s (h2 %v): backend saw ssl-client-verify %q, want %q", tc.name, h2, got, tc.verify)
			}
		}
	}

	// The passed-through certificate, subject and issuer reach the backend.
	r, err := doHeaders(m.tlsClient("secure.example", good, true), "https://secure.example/", nil)
	if err != nil || r.status != 200 {
		t.Fatalf("verified request: %v %d", err, r.status)
	}
	h := r.echo.Headers
	if got := h["Ssl-Client-Subject-Dn"]; len(got) != 1 || got[0] != "CN=allowed,O=moat test" {
		t.Errorf("ssl-client-subject-dn %q", got)
	}
	if got := h["Ssl-Client-Issuer-Dn"]; len(got) != 1 || got[0] != "CN=moat e2e CA" {
		t.Errorf("ssl-client-issuer-dn %q", got)
	}
	raw := strings.Join(h["Ssl-Client-Cert"], "")
	if strings.Contains(raw, " ") || strings.Contains(raw, "\n") {
		t.Errorf("ssl-client-cert is not URL-encoded: %q", raw)
	}
	pemText, err := url.QueryUnescape(raw)
	if err != nil || !strings.HasPrefix(pemText, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("ssl-client-cert does not decode to PEM: %q %v", raw, err)
	}
	// Without pass-certificate-to-upstream, no ssl-client-cert.
	r, _ = doHeaders(m.tlsClient("opt.example", good, false), "https://opt.example/", map[string]string{"Ssl-Client-Cert": "forged"})
	if _, ok := r.echo.Headers["Ssl-Client-Cert"]; ok || r.status != 200 {
		t.Errorf("opt.example: status %d, ssl-client-cert %q", r.status, r.echo.Headers["Ssl-Client-Cert"])
	}
}
