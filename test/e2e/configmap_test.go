package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// TestControllerConfigMap: --configmap keys in file mode: redirect code,
// HSTS, forwarded headers, block lists, the global allowlist,
// custom-http-errors with a default backend, risk level and snippets.
func TestControllerConfigMap(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	errs := startEcho(t, "127.0.0.1:0", "errors")
	missing := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(missing.Close)
	writeFile(t, dir, "all.yaml", join(
		`apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data:
  http-redirect-code: "301"
  hsts-max-age: "86400"
  hsts-include-subdomains: "false"
  hsts-preload: "true"
  use-forwarded-headers: "true"
  block-user-agents: "badbot, ~*scanner"
  custom-http-errors: "404"
  allow-snippet-annotations: "true"
  annotations-risk-level: Critical
  server-tokens: "false"`,
		ca.secret(t, "default", "site-tls", "site.example"),
		service("default", "app", appAddr),
		service("default", "errors", errs),
		service("default", "missing", strings.TrimPrefix(missing.URL, "http://")),
		ingress("default", "site", "site.example", "site-tls", "/", "app"),
		annIngress("errp", "errp.example", "missing", map[string]string{"default-backend": "errors"}),
		annIngress("snip", "snip.example", "app", map[string]string{"configuration-snippet": "more_set_headers \"X-Snip: on\";\nproxy_set_header X-Up \"yes\";\nadd_header X-Added 1;", "custom-http-errors": ""}),
		annIngress("snipbad", "snipbad.example", "app", map[string]string{"configuration-snippet": "deny all;"}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) {
		c.ConfigMap = "ingress/moat-config"
		c.DefaultBackendService = "default/errors"
	})
	c := m.client(ca.pool, false)

	r := get(t, c, "http://site.example/a")
	if r.status != 301 || r.header.Get("Location") != "https://site.example/a" {
		t.Errorf("http-redirect-code: %d %q", r.status, r.header.Get("Location"))
	}
	r = get(t, c, "https://site.example/a")
	if r.status != 200 || r.header.Get("Strict-Transport-Security") != "max-age=86400; preload" {
		t.Errorf("hsts: %d %q", r.status, r.header.Get("Strict-Transport-Security"))
	}
	// A trusted proxy says the client used HTTPS: no redirect, and the
	// upstream sees the forwarded scheme and client.
	r = req(t, c, "GET", "http://site.example/b", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
	if r.status != 200 || r.echo.Headers["X-Forwarded-Proto"][0] != "https" || r.echo.Headers["X-Forwarded-For"][0] != "203.0.113.7" {
		t.Errorf("use-forwarded-headers: %d %v", r.status, r.echo.Headers)
	}
	for _, ua := range []string{"badbot", "Mega-SCANNER/2"} {
		if r := req(t, c, "GET", "https://site.example/", map[string]string{"User-Agent": ua}); r.status != 403 {
			t.Errorf("block-user-agents %q: %d", ua, r.status)
		}
	}
	// custom-http-errors from the ConfigMap: the upstream's 404 is
	// answered by --default-backend-service with X-Code (the
	// default-backend annotation serves the Ingress's own codes only).
	r = get(t, c, "http://errp.example/nothing?q=1")
	if r.echo.Name != "errors" || r.echo.Headers["X-Code"][0] != "404" || r.echo.Path != "/" || r.echo.RawQuery != "q=1" || r.echo.Headers["X-Original-Uri"][0] != "/nothing?q=1" {
		t.Errorf("custom-http-errors: %d %q %v", r.status, r.echo.Name, r.echo.Headers)
	}
	// Snippets allowed: the literal subset applies.
	r = get(t, c, "http://snip.example/x")
	if r.status != 200 || r.header.Get("X-Snip") != "on" || r.header.Get("X-Added") != "1" || r.echo.Headers["X-Up"][0] != "yes" {
		t.Errorf("snippet: %d %v %v", r.status, r.header, r.echo.Headers)
	}
	if r := get(t, c, "http://snipbad.example/"); r.status != 503 {
		t.Errorf("refused snippet must deny the paths: %d", r.status)
	}
	if r.header.Get("Server") != "moat" {
		t.Errorf("server-tokens false: Server %q, want moat (no version)", r.header.Get("Server"))
	}
}
