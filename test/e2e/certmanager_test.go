package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/lint"
)

// appIngress is an application's Ingress as users annotate it for
// cert-manager's ingress-shim: HTTPS forced, its Secret issued by
// cert-manager.
const appIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: default
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
    nginx.ingress.kubernetes.io/force-ssl-redirect: "true"
spec:
  ingressClassName: moat
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}`

// solverIngress is the Ingress cert-manager's HTTP-01 solver creates for
// one challenge (pkg/issuer/acme/http/ingress.go): the token's path,
// ImplementationSpecific, the solver pod's Service on port 8089, and an
// allow-all whitelist-source-range; no tls.
const solverIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: cm-acme-http-solver-x7k2q
  namespace: default
  labels: {acme.cert-manager.io/http01-solver: "true"}
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: 0.0.0.0/0,::/0
spec:
  ingressClassName: moat
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /.well-known/acme-challenge/Zm9vYmFyLXRva2Vu
        pathType: ImplementationSpecific
        backend: {service: {name: cm-acme-http-solver-x7k2q, port: {number: 8089}}}`

// solverService is the solver's Service (port 8089, as cert-manager
// makes it) and an EndpointSlice for the solver at addr.
func solverService(addr string) string {
	return strings.Replace(service("default", "cm-acme-http-solver-x7k2q", addr), "port: 80,", "port: 8089,", 1)
}

// TestCertManagerHTTP01 walks docs/cert-manager.md's HTTP-01 flow as far
// as it goes without an ACME server: while the application's host forces
// HTTPS and the controller ConfigMap puts every path behind global auth,
// the solver's challenge path answers over plain HTTP from the solver,
// before the Secret exists (first issuance) and after (renewal); and lint
// passes the manifests without the Secret.
func TestCertManagerHTTP01(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	solverAddr := startEcho(t, "127.0.0.1:0", "solver")
	global := authBackend(t, "global", "")
	ca := newCA(t)
	docs := []string{service("default", "app", appAddr), solverService(solverAddr), appIngress, solverIngress}

	check := func(t *testing.T, m *moat) {
		t.Helper()
		c := m.client(nil, false)
		if r := get(t, c, "http://shop.example.com/.well-known/acme-challenge/Zm9vYmFyLXRva2Vu"); r.status != 200 || r.echo.Name != "solver" || r.echo.Path != "/.well-known/acme-challenge/Zm9vYmFyLXRva2Vu" {
			t.Errorf("challenge over plain HTTP: status %d from %q path %q, want 200 from the solver", r.status, r.echo.Name, r.echo.Path)
		}
		if r := get(t, c, "http://shop.example.com/"); r.status != 308 || r.header.Get("Location") != "https://shop.example.com" {
			t.Errorf("application over plain HTTP: %d %q, want 308 to https", r.status, r.header.Get("Location"))
		}
		if r := get(t, c, "https://shop.example.com/"); r.status != 401 {
			t.Errorf("application over HTTPS under global auth: %d, want 401", r.status)
		}
	}

	t.Run("first issuance", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"global-auth-url": global + "/global"}, docs...)
		check(t, m)
	})
	t.Run("renewal", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"global-auth-url": global + "/global"}, append(docs, ca.secret(t, "default", "shop-tls", "shop.example.com"))...)
		check(t, m)
		c := m.client(ca.pool, false)
		eventually(t, 5*time.Second, "the issued certificate served", func() bool {
			r, err := do(c, "https://shop.example.com/")
			return err == nil && r.tls != nil && r.tls.PeerCertificates[0].Subject.CommonName == "shop.example.com"
		})
	})

	t.Run("lint without the Secret", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(join(service("default", "app", appAddr), appIngress)), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := lint.Run([]string{dir}, nil, lint.Options{WatchWithoutClass: true, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if r.FailedAt(diag.Error) {
			t.Errorf("lint fails on cert-manager's Secret:\n%v", r.Diagnostics)
		}
		found := false
		for _, d := range r.Diagnostics {
			found = found || d.Reason == lint.ReasonTLSSecretFromCertManager
		}
		if !found {
			t.Errorf("no %s note: %v", lint.ReasonTLSSecretFromCertManager, r.Diagnostics)
		}
	})
}
