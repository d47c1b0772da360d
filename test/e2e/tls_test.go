package e2e

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

const fakeIssuer = "Kubernetes Ingress Controller Fake Certificate"

// handshake dials moat's HTTPS listener with the given SNI ("" for none)
// and returns the leaf certificate's names and issuer.
func handshake(t *testing.T, m *moat, sni string) (dns []string, issuer string, proto string) {
	t.Helper()
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatalf("handshake with SNI %q: %v", sni, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	leaf := st.PeerCertificates[0]
	return leaf.DNSNames, leaf.Issuer.CommonName, st.NegotiatedProtocol
}

// TestSNIAndDefaultCertificate: each host gets its own certificate by SNI,
// a wildcard certificate serves one label, and unknown or missing SNI gets
// the generated default certificate.
func TestSNIAndDefaultCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "tls.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "a-cert", "a.example"),
		ca.secret(t, "default", "b-cert", "b.example"),
		ca.secret(t, "default", "wild-cert", "*.wild.example"),
		ca.secret(t, "other", "stolen", "c.example"),
		ingress("default", "a", "a.example", "a-cert", "/", "web"),
		ingress("default", "b", "b.example", "b-cert", "/", "web"),
		ingress("default", "w", "*.wild.example", "wild-cert", "/", "web"),
		// c.example names a Secret that exists only in another namespace.
		ingress("default", "c", "c.example", "stolen", "/", "web"),
	))
	m := startMoat(t, dir, nil)

	for sni, want := range map[string]string{"a.example": "a.example", "b.example": "b.example", "x.wild.example": "*.wild.example", "A.EXAMPLE": "a.example"} {
		dns, issuer, _ := handshake(t, m, sni)
		if len(dns) != 1 || dns[0] != want || issuer != "moat e2e CA" {
			t.Errorf("SNI %q: got certificate for %v issued by %q, want %q", sni, dns, issuer, want)
		}
	}
	for _, sni := range []string{"", "unknown.example", "y.x.wild.example", "c.example"} {
		_, issuer, _ := handshake(t, m, sni)
		if issuer != fakeIssuer {
			t.Errorf("SNI %q: got certificate issued by %q, want the default certificate", sni, issuer)
		}
	}
	// Verified end to end with the CA, over HTTP/2.
	c := m.client(ca.pool, true)
	r := get(t, c, "https://a.example/")
	if r.status != 200 || r.echo.Name != "web" || r.proto != "HTTP/2.0" {
		t.Fatalf("https://a.example/: status %d proto %s echo %+v", r.status, r.proto, r.echo)
	}
	// HSTS is set on HTTPS responses of TLS hosts, exactly once.
	if got := r.header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS header %q", got)
	}
	// TLS 1.1 is refused.
	_, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: "a.example", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Errorf("a TLS 1.1 handshake succeeded; only 1.2 and 1.3 are allowed")
	}
	// A request over a plain TCP connection to the HTTPS port fails cleanly.
	conn, err := net.Dial("tcp", m.addrs.HTTPS)
	if err == nil {
		conn.Close()
	}
}

// TestRedirect: 308 to HTTPS for hosts with a tls entry (even without a
// Secret), not for hosts without one, not for ACME challenges, and
// ssl-redirect "false" / force-ssl-redirect "true" per Ingress.
func TestRedirect(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "r.yaml", join(
		service("default", "web", be),
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls-no-secret}
spec:
  tls: [{hosts: [secure.example]}]
  rules:
  - host: secure.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /.well-known/acme-challenge, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`,
		ingress("default", "plain", "plain.example", "", "/", "web"),
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: opt-out
  annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}
spec:
  tls: [{hosts: [optout.example]}]
  rules:
  - host: optout.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}`,
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: forced
  annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}
spec:
  rules:
  - host: forced.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}`,
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	cases := []struct {
		url, location string
		status        int
	}{
		{"http://secure.example/", "https://secure.example", 308},
		{"http://secure.example/a/b/?x=1", "https://secure.example/a/b/?x=1", 308},
		{"http://secure.example/a/b/", "https://secure.example/a/b", 308},
		{"http://secure.example/.well-known/acme-challenge/token", "", 200},
		{"http://plain.example/", "", 200},
		{"http://optout.example/", "", 200},
		{"http://forced.example/x", "https://forced.example/x", 308},
	}
	for _, tc := range cases {
		r := get(t, c, tc.url)
		if r.status != tc.status || r.header.Get("Location") != tc.location {
			t.Errorf("%s: %d Location %q, want %d %q", tc.url, r.status, r.header.Get("Location"), tc.status, tc.location)
		}
	}
	// With the HTTPS listener elsewhere than 443, the port is in Location.
	m2 := startMoat(t, dir, func(c *app.ServeConfig) { c.HTTPSRedirectPort = 8443 })
	r := get(t, m2.client(nil, false), "http://secure.example/x")
	if r.status != 308 || r.header.Get("Location") != "https://secure.example:8443/x" {
		t.Errorf("redirect with port: %d %q", r.status, r.header.Get("Location"))
	}
	// HTTPS on a TLS host without a Secret works with the default certificate.
	r = get(t, c, "https://secure.example/")
	if r.status != 200 || r.tls.PeerCertificates[0].Issuer.CommonName != fakeIssuer {
		t.Errorf("https on tls host without secret: %d", r.status)
	}
}
