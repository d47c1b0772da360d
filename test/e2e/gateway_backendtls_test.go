package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sanLeaf issues a server certificate from ca with DNS and URI SANs.
func sanLeaf(t *testing.T, ca *testCA, dns []string, uris ...string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var us []*url.URL
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, p)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: dns[0]},
		DNSNames: dns, URIs: us, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// btlsPolicy returns a BackendTLSPolicy manifest for Service svc.
func btlsPolicy(name, svc, created, validation string) string {
	return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: %s, namespace: app, creationTimestamp: %q}
spec:
  targetRefs: [{group: "", kind: Service, name: %s}]
  validation:
%s`, name, created, svc, validation)
}

// BackendTLSPolicy with real TLS to an HTTPS backend: the backend's
// certificate is verified against the CA of a ConfigMap or Secret and the
// hostname (sent as SNI), or the subjectAltNames (DNS or URI) instead;
// a wrong CA, name or SAN, or an unusable CA reference, gets a 5xx; the
// older of two conflicting policies applies; each policy's status names
// the Gateway with the spec's reasons.
func TestGatewayAPIBackendTLSPolicy(t *testing.T) {
	dir := t.TempDir()
	backendCA, otherCA := newCA(t), newCA(t)
	be := startTLSEcho(t, "tls-web", sanLeaf(t, backendCA, []string{"backend.internal", "alt.internal"}, "spiffe://cluster.local/ns/app/sa/web"), nil)
	caPEM := strings.ReplaceAll(strings.TrimSpace(string(backendCA.caPEM())), "\n", "\n    ")
	otherPEM := strings.ReplaceAll(strings.TrimSpace(string(otherCA.caPEM())), "\n", "\n    ")
	svcs := []string{"good", "secretca", "badca", "badname", "san", "sanuri", "sanbad", "missingcm", "badkind", "conflict", "plain"}
	var docs []string
	var rules strings.Builder
	for _, s := range svcs {
		docs = append(docs, service("app", s, be))
		fmt.Fprintf(&rules, "  - matches: [{path: {type: PathPrefix, value: /%s}}]\n    backendRefs: [{name: %s, port: 80}]\n", s, s)
	}
	cm := func(ref string) string {
		return "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: " + ref + "}]\n"
	}
	docs = append(docs,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: backend-ca, namespace: app}\ndata:\n  ca.crt: |\n    "+caPEM+"\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other-ca, namespace: app}\ndata:\n  ca.crt: |\n    "+otherPEM+"\n",
		opaqueSecret("app", "backend-ca-secret", map[string][]byte{"ca.crt": backendCA.caPEM()}),
		btlsPolicy("good", "good", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: backend.internal\n"),
		btlsPolicy("secretca", "secretca", "2026-01-01T00:00:00Z", "    caCertificateRefs: [{group: \"\", kind: Secret, name: backend-ca-secret}]\n    hostname: backend.internal\n"),
		btlsPolicy("badca", "badca", "2026-01-01T00:00:00Z", cm("other-ca")+"    hostname: backend.internal\n"),
		btlsPolicy("badname", "badname", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: other.internal\n"),
		btlsPolicy("san", "san", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: other.internal\n    subjectAltNames: [{type: Hostname, hostname: alt.internal}]\n"),
		btlsPolicy("sanuri", "sanuri", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: other.internal\n    subjectAltNames: [{type: URI, uri: \"spiffe://cluster.local/ns/app/sa/web\"}]\n"),
		// With subjectAltNames the hostname is not used for verification.
		btlsPolicy("sanbad", "sanbad", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: backend.internal\n    subjectAltNames: [{type: Hostname, hostname: nope.internal}]\n"),
		btlsPolicy("missingcm", "missingcm", "2026-01-01T00:00:00Z", cm("nope")+"    hostname: backend.internal\n"),
		btlsPolicy("badkind", "badkind", "2026-01-01T00:00:00Z", "    caCertificateRefs: [{group: \"\", kind: Pod, name: backend-ca}]\n    hostname: backend.internal\n"),
		btlsPolicy("conflict-old", "conflict", "2026-01-01T00:00:00Z", cm("backend-ca")+"    hostname: backend.internal\n"),
		btlsPolicy("conflict-new", "conflict", "2026-02-01T00:00:00Z", cm("other-ca")+"    hostname: backend.internal\n"),
		`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [b.example.com]
  rules:
`+rules.String())
	writeFile(t, dir, "gateway.yaml", join(docs...))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	for _, tc := range []struct {
		path, sni string
		status    int
	}{
		{"/good", "backend.internal", 200},
		{"/secretca", "backend.internal", 200},
		{"/badca", "", 502},
		{"/badname", "", 502},
		{"/san", "other.internal", 200},
		{"/sanuri", "other.internal", 200},
		{"/sanbad", "", 502},
		{"/missingcm", "", 502},
		{"/badkind", "", 502},
		{"/conflict", "backend.internal", 200},
		// No policy: moat speaks clear text to the TLS backend.
		{"/plain", "", 400},
	} {
		r := get(t, c, "http://b.example.com"+tc.path)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.path, r.status, tc.status, r.body)
			continue
		}
		if tc.status == 200 && (!r.echo.TLS || r.header.Get("X-Backend-SNI") != tc.sni) {
			t.Errorf("%s: backend TLS %v, SNI %q, want SNI %q", tc.path, r.echo.TLS, r.header.Get("X-Backend-SNI"), tc.sni)
		}
	}
	st := m.debug(t, "/debug/gateway")
	for _, want := range []string{
		"backendtlspolicy app/good\n  ancestor app/gw Accepted=True/Accepted@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy app/missingcm\n  ancestor app/gw Accepted=False/NoValidCACertificate@0 ResolvedRefs=False/InvalidCACertificateRef@0\n",
		"backendtlspolicy app/badkind\n  ancestor app/gw Accepted=False/NoValidCACertificate@0 ResolvedRefs=False/InvalidKind@0\n",
		"backendtlspolicy app/conflict-old\n  ancestor app/gw Accepted=True/Accepted@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy app/conflict-new\n  ancestor app/gw Accepted=False/Conflicted@0 ResolvedRefs=True/ResolvedRefs@0\n",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("/debug/gateway lacks %q:\n%s", want, st)
		}
	}
	d := m.diagnostics(t)
	for _, want := range []string{"spec.validation.caCertificateRefs[0].name", "spec.validation.caCertificateRefs[0].kind", "InvalidKind", "Conflicted"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, d)
		}
	}
}

// GatewayBackendClientCertificate: a Gateway's spec.tls.backend
// clientCertificateRef is presented to a backend that requires a client
// certificate (reached over a BackendTLSPolicy); a Gateway without one
// gets a refused handshake (502), and a missing Secret is
// ResolvedRefs=False/InvalidClientCertificateRef.
func TestGatewayAPIBackendClientCertificate(t *testing.T) {
	dir := t.TempDir()
	backendCA, clientCA := newCA(t), newCA(t)
	be := startTLSEcho(t, "mtls-web", backendCA.leaf(t, "backend.internal", false, "backend.internal"), clientCA.pool)
	crt, key := certPEM(t, clientCA.leaf(t, "moat-gw", true))
	caPEM := strings.ReplaceAll(strings.TrimSpace(string(backendCA.caPEM())), "\n", "\n    ")
	gateway := func(name, tls string) string {
		return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80, hostname: %s.example.com}]
%s`, name, name, tls)
	}
	route := func(gw string) string {
		return fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s, namespace: app}
spec:
  parentRefs: [{name: %s}]
  rules: [{backendRefs: [{name: mtls, port: 80}]}]
`, gw, gw)
	}
	writeFile(t, dir, "gateway.yaml", join(
		service("app", "mtls", be),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: backend-ca, namespace: app}\ndata:\n  ca.crt: |\n    "+caPEM+"\n",
		opaqueSecret("app", "gw-client", map[string][]byte{"tls.crt": crt, "tls.key": key}),
		btlsPolicy("mtls", "mtls", "2026-01-01T00:00:00Z", "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: backend-ca}]\n    hostname: backend.internal\n"),
		"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: moat}\nspec: {controllerName: moat.dev/gateway-controller}\n",
		gateway("withcert", "  tls: {backend: {clientCertificateRef: {name: gw-client}}}\n"),
		gateway("nocert", ""),
		gateway("missing", "  tls: {backend: {clientCertificateRef: {name: nope}}}\n"),
		route("withcert"), route("nocert"), route("missing"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	for _, tc := range []struct {
		host, client string
		status       int
	}{
		{"withcert.example.com", "moat-gw", 200},
		{"nocert.example.com", "", 502},
		{"missing.example.com", "", 502},
	} {
		r := get(t, c, "http://"+tc.host+"/")
		if r.status != tc.status || r.header.Get("X-Backend-Saw-Client") != tc.client {
			t.Errorf("%s: status %d client %q, want %d %q: %s", tc.host, r.status, r.header.Get("X-Backend-Saw-Client"), tc.status, tc.client, r.body)
		}
	}
	st := m.debug(t, "/debug/gateway")
	for _, want := range []string{
		"gateway app/withcert Accepted=True/Accepted@0 Programmed=True/Programmed@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"gateway app/missing Accepted=True/Accepted@0 Programmed=True/Programmed@0 ResolvedRefs=False/InvalidClientCertificateRef@0\n",
		"gateway app/nocert Accepted=True/Accepted@0 Programmed=True/Programmed@0\n",
	} {
		if !strings.Contains(st, want) {
			t.Errorf("/debug/gateway lacks %q:\n%s", want, st)
		}
	}
	if d := m.diagnostics(t); !strings.Contains(d, "spec.tls.backend.clientCertificateRef.name") {
		t.Errorf("no diagnostic naming the field:\n%s", d)
	}
}
