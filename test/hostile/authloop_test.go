package hostile

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/app"
)

// freePort returns a loopback port free a moment ago, for a listener
// whose address a manifest must name before moat starts.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func hostless(name, path, authURL string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  namespace: default
  annotations: {nginx.ingress.kubernetes.io/auth-url: %q}
spec:
  rules:
  - http:
      paths: [{path: %s, pathType: Prefix, backend: {service: {name: backend, port: {number: 80}}}}]
`, name, authURL, path)
}

// TestAuthURLLoop: an auth-url pointing at moat's own HTTP listener
// through a rule without a host makes each auth sub-request ask again.
// moat cuts the loop at a bounded depth (the client gets 500, as nginx's
// auth_request on a failed sub-request), reports the auth-url at config
// time, and an auth-url at the admin listener is an error diagnostic. A
// legitimate sub-request through moat to an unprotected location still
// works, and the loop marker never reaches a backend. (Before: one
// request grew without bound.)
func TestAuthURLLoop(t *testing.T) {
	httpAddr, adminAddr := freePort(t), freePort(t)
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{
		extra: []string{
			hostless("loop", "/loop", "http://"+httpAddr+"/loop"),
			hostless("admin-auth", "/adm", "http://"+adminAddr+"/healthz"),
			hostless("guarded", "/guarded", "http://"+httpAddr+"/open"),
			strings.Replace(hostless("open", "/open", ""), "  annotations: {nginx.ingress.kubernetes.io/auth-url: \"\"}\n", "", 1),
		},
		mod: func(c *app.ServeConfig) { c.HTTPAddr, c.AdminAddr = httpAddr, adminAddr },
	})
	c := m.client(false)
	res, err := c.Get("http://" + m.addrs.HTTP + "/loop")
	if err != nil {
		t.Fatalf("looping auth-url: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("looping auth-url: status %d, want 500", res.StatusCode)
	}
	if n := strings.Count(m.logs.String(), "auth sub-request loops back into moat"); n != 1 {
		t.Errorf("%d loop refusals logged, want 1 (the loop cut at its bound)", n)
	}
	res, err = c.Get("http://" + m.addrs.HTTP + "/guarded")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("auth-url through moat to an open location: status %d, want 200", res.StatusCode)
	}
	got := rec.requests()
	if strings.Join(got, ",") != "GET /open,GET /guarded" {
		t.Errorf("backend got %q, want the auth sub-request then the request", got)
	}
	if strings.Contains(strings.ToLower(rec.raw()), "x-moat-auth-hop") {
		t.Errorf("the loop marker reached the backend")
	}
	res, err = http.Get("http://" + m.addrs.Admin + "/debug/diagnostics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	diags := string(body)
	for _, want := range []string{"AuthURLSelf", "loop", "admin-auth", "nginx.ingress.kubernetes.io/auth-url", "admin listener"} {
		if !strings.Contains(diags, want) {
			t.Errorf("/debug/diagnostics lacks %q:\n%s", want, tail(diags, 3000))
		}
	}
	if strings.Count(diags, "AuthURLSelf") != 3 {
		t.Errorf("want AuthURLSelf for loop, admin-auth and guarded:\n%s", tail(diags, 3000))
	}
}
