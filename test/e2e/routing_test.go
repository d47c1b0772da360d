package e2e

import (
	"net"
	"testing"
)

// TestRoutingStatuses: the right backend per host and path, 404 for an
// unknown host or path, 503 for a missing Service or one without ready
// endpoints, 502 for an unreachable backend.
func TestRoutingStatuses(t *testing.T) {
	dir := t.TempDir()
	a := startEcho(t, "127.0.0.1:0", "app")
	api := startEcho(t, "127.0.0.1:0", "api")
	// A port nobody listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", a),
		service("default", "api", api),
		service("default", "empty"),
		service("default", "dead", dead),
		ingress("default", "site", "site.example", "", "/", "app", "/api", "api", "/gone", "missing", "/empty", "empty", "/dead", "dead"),
		`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: exact}
spec:
  rules:
  - host: exact.example
    http:
      paths:
      - {path: /only, pathType: Exact, backend: {service: {name: app, port: {number: 80}}}}`,
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	cases := []struct {
		url     string
		status  int
		backend string
		path    string
	}{
		{"http://site.example/", 200, "app", "/"},
		{"http://site.example/x/y?q=1", 200, "app", "/x/y"},
		{"http://site.example/api", 200, "api", "/api"},
		{"http://site.example/api/v1", 200, "api", "/api/v1"},
		{"http://site.example/apiv1", 200, "app", "/apiv1"},
		{"https://site.example/api/v1", 200, "api", "/api/v1"},
		{"http://SITE.example./api", 200, "api", "/api"},
		{"http://site.example/gone", 503, "", ""},
		{"http://site.example/empty", 503, "", ""},
		{"http://site.example/dead", 502, "", ""},
		{"http://unknown.example/", 404, "", ""},
		{"https://unknown.example/", 404, "", ""},
		{"http://exact.example/only", 200, "app", "/only"},
		{"http://exact.example/only/", 404, "", ""},
		{"http://exact.example/", 404, "", ""},
	}
	for _, tc := range cases {
		r := get(t, c, tc.url)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d (body %q)", tc.url, r.status, tc.status, r.body)
			continue
		}
		if tc.backend != "" && (r.echo.Name != tc.backend || r.echo.Path != tc.path) {
			t.Errorf("%s: reached %q with path %q, want %q with %q", tc.url, r.echo.Name, r.echo.Path, tc.backend, tc.path)
		}
	}

	// The backend sees the original Host and fresh X-Forwarded-* headers.
	req := get(t, c, "https://site.example/headers")
	h := req.echo.Headers
	if req.echo.Host != "site.example" {
		t.Errorf("backend saw Host %q, want site.example", req.echo.Host)
	}
	for k, want := range map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "site.example", "X-Real-Ip": "127.0.0.1", "X-Forwarded-For": "127.0.0.1"} {
		if got := first(h[k]); got != want {
			t.Errorf("backend saw %s %q, want %q", k, got, want)
		}
	}
	if got := first(h["X-Request-Id"]); len(got) != 32 {
		t.Errorf("backend saw X-Request-Id %q, want 32 hex characters", got)
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestLoadBalancing: requests spread over both ready endpoints of a Service.
func TestLoadBalancing(t *testing.T) {
	dir := t.TempDir()
	a := startEcho(t, "127.0.0.1:0", "one")
	_, port, _ := net.SplitHostPort(a)
	b := startEcho(t, "127.0.0.2:"+port, "two")
	writeFile(t, dir, "lb.yaml", join(service("default", "lb", a, b), ingress("default", "lb", "lb.example", "", "/", "lb")))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		r := get(t, c, "http://lb.example/")
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		seen[r.echo.Name]++
	}
	if seen["one"] < 5 || seen["two"] < 5 {
		t.Fatalf("requests were not spread over both endpoints: %v", seen)
	}
}
