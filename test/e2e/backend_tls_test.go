package e2e

import (
	"strings"
	"testing"
)

// TestBackendTLS: backend-protocol HTTPS with proxy-ssl-*: verified against
// the Secret's ca.crt and proxy-ssl-name (502 with the wrong CA or name),
// unverified by default as nginx, a client certificate for backends that
// require one, and SNI only with proxy-ssl-server-name.
func TestBackendTLS(t *testing.T) {
	dir := t.TempDir()
	ca, backendCA, otherCA, moatCA := newCA(t), newCA(t), newCA(t), newCA(t)
	beCert := backendCA.leaf(t, "backend.internal", false, "backend.internal")
	be := startTLSEcho(t, "tls-web", beCert, nil)
	mtlsBE := startTLSEcho(t, "mtls-web", beCert, moatCA.pool)
	moatClient := moatCA.leaf(t, "moat", true)
	crt, key := certPEM(t, moatClient)
	https := map[string]string{"backend-protocol": "HTTPS"}
	verify := func(secret, name string) map[string]string {
		return map[string]string{"backend-protocol": "HTTPS", "proxy-ssl-secret": "default/" + secret,
			"proxy-ssl-verify": "on", "proxy-ssl-name": name, "proxy-ssl-server-name": "on"}
	}
	writeFile(t, dir, "b.yaml", join(
		service("default", "tls-web", be),
		service("default", "mtls-web", mtlsBE),
		ca.secret(t, "default", "site", "plain.example", "good.example", "badca.example", "badname.example", "client.example", "noclient.example"),
		opaqueSecret("default", "backend-ca", map[string][]byte{"ca.crt": backendCA.caPEM()}),
		opaqueSecret("default", "other-ca", map[string][]byte{"ca.crt": otherCA.caPEM()}),
		opaqueSecret("default", "moat-client", map[string][]byte{"ca.crt": backendCA.caPEM(), "tls.crt": crt, "tls.key": key}),
		annotate(ingress("default", "plain", "plain.example", "site", "/", "tls-web"), https),
		annotate(ingress("default", "good", "good.example", "site", "/", "tls-web"), verify("backend-ca", "backend.internal")),
		annotate(ingress("default", "badca", "badca.example", "site", "/", "tls-web"), verify("other-ca", "backend.internal")),
		annotate(ingress("default", "badname", "badname.example", "site", "/", "tls-web"), verify("backend-ca", "other.internal")),
		annotate(ingress("default", "client", "client.example", "site", "/", "mtls-web"), verify("moat-client", "backend.internal")),
		annotate(ingress("default", "noclient", "noclient.example", "site", "/", "mtls-web"), verify("backend-ca", "backend.internal")),
	))
	m := startMoat(t, dir, nil)
	c := m.client(ca.pool, true)
	for _, tc := range []struct {
		host, sni, client string
		status            int
	}{
		{"plain.example", "", "", 200}, // proxy-ssl-verify is off by default
		{"good.example", "backend.internal", "", 200},
		{"badca.example", "", "", 502},
		{"badname.example", "", "", 502},
		{"client.example", "backend.internal", "moat", 200},
		{"noclient.example", "", "", 502},
	} {
		r := get(t, c, "https://"+tc.host+"/")
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.host, r.status, tc.status, r.body)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if !r.echo.TLS || r.header.Get("X-Backend-SNI") != tc.sni || r.header.Get("X-Backend-Saw-Client") != tc.client {
			t.Errorf("%s: backend tls %v, SNI %q, client %q; want SNI %q client %q", tc.host, r.echo.TLS,
				r.header.Get("X-Backend-SNI"), r.header.Get("X-Backend-Saw-Client"), tc.sni, tc.client)
		}
	}
}

// TestBackendTLSWithoutSecret: as ingress-nginx's proxyssl parser, the
// proxy-ssl-* keys do nothing without proxy-ssl-secret, verification,
// protocols and ciphers nothing without a ca.crt in it, and a Secret that
// is missing or in another namespace denies the paths (503).
func TestBackendTLSWithoutSecret(t *testing.T) {
	dir := t.TempDir()
	ca, backendCA, moatCA := newCA(t), newCA(t), newCA(t)
	be := startTLSEcho(t, "tls-web", backendCA.leaf(t, "backend.internal", false, "backend.internal"), nil)
	crt, key := certPEM(t, moatCA.leaf(t, "moat", true))
	ann := func(extra map[string]string) map[string]string {
		m := map[string]string{"backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-name": "wrong.internal", "proxy-ssl-server-name": "on"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	writeFile(t, dir, "b.yaml", join(
		service("default", "tls-web", be),
		ca.secret(t, "default", "site", "nosecret.example", "noca.example", "missing.example", "othens.example"),
		opaqueSecret("default", "client-only", map[string][]byte{"tls.crt": crt, "tls.key": key}),
		annotate(ingress("default", "nosecret", "nosecret.example", "site", "/", "tls-web"), ann(nil)),
		annotate(ingress("default", "noca", "noca.example", "site", "/", "tls-web"), ann(map[string]string{"proxy-ssl-secret": "client-only"})),
		annotate(ingress("default", "missing", "missing.example", "site", "/", "tls-web"), ann(map[string]string{"proxy-ssl-secret": "nope"})),
		annotate(ingress("default", "othens", "othens.example", "site", "/", "tls-web"), ann(map[string]string{"proxy-ssl-secret": "other/client-only"})),
	))
	m := startMoat(t, dir, nil)
	c := m.client(ca.pool, true)
	for _, tc := range []struct {
		host, sni string
		status    int
	}{
		// Verification against the wrong name would fail: it is off.
		{"nosecret.example", "", 200},
		// proxy-ssl-name and -server-name apply with the Secret; verify not.
		{"noca.example", "wrong.internal", 200},
		{"missing.example", "", 503},
		{"othens.example", "", 503},
	} {
		r := get(t, c, "https://"+tc.host+"/")
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.host, r.status, tc.status, r.body)
			continue
		}
		if tc.status == 200 && r.header.Get("X-Backend-SNI") != tc.sni {
			t.Errorf("%s: SNI %q, want %q", tc.host, r.header.Get("X-Backend-SNI"), tc.sni)
		}
	}
	d := m.diagnostics(t)
	for _, want := range []string{"ProxySSLSecretMissing", "ProxySSLVerifyWithoutCA", "ProxySSLSecretNotFound", "ProxySSLSecretCrossNamespace"} {
		if !strings.Contains(d, want) {
			t.Errorf("no %s diagnostic:\n%s", want, d)
		}
	}
}
