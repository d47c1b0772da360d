package e2e

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCredentialsNeverLogged: an auth-url's password appears neither in
// "auth request failed" nor in a diagnostic about a bad auth-url, in the
// log or /debug/diagnostics (#11 item 11).
func TestCredentialsNeverLogged(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "app")
	writeFile(t, dir, "auth.yaml", join(service("default", "app", be),
		annIngress("down", "down.example", "app", map[string]string{"auth-url": "http://user:s3cret-down@" + closedPort(t) + "/check"}),
		annIngress("bad", "bad.example", "app", map[string]string{"auth-url": "ftp://user:s3cret-bad@auth.example/check"})))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	if r := get(t, c, "http://down.example/"); r.status != http.StatusInternalServerError {
		t.Fatalf("auth service down: %d, want 500", r.status)
	}
	eventually(t, 5*time.Second, "the auth failure to be logged", func() bool {
		return strings.Contains(m.logs.String(), "auth request failed")
	})
	diags := m.diagnostics(t)
	if !strings.Contains(diags, "auth-url") {
		t.Fatalf("no auth-url diagnostic: %s", diags)
	}
	for what, text := range map[string]string{"log": m.logs.String(), "/debug/diagnostics": diags} {
		for _, pw := range []string{"s3cret-down", "s3cret-bad"} {
			if strings.Contains(text, pw) {
				t.Errorf("%s shows the password %s", what, pw)
			}
		}
	}
	if !strings.Contains(m.logs.String(), "user:xxxxx@") {
		t.Errorf("the log does not show the redacted URL")
	}
}

// TestDiagnosticValuesBounded: a 2 MB annotation value makes neither a
// 2 MB log line nor a 2 MB /debug/diagnostics; the diagnostic still says
// which annotation is wrong and how long its value was (#11 item 10).
func TestDiagnosticValuesBounded(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "app")
	big := strings.Repeat("9", 2<<20) + "x"
	writeFile(t, dir, "big.yaml", join(service("default", "app", be),
		annIngress("big", "big.example", "app", map[string]string{"proxy-body-size": big, "auth-url": "http://a/" + big})))
	m := startMoat(t, dir, nil)
	diags := m.diagnostics(t)
	if len(diags) > 64<<10 {
		t.Errorf("/debug/diagnostics is %d bytes", len(diags))
	}
	if !strings.Contains(diags, "proxy-body-size") || !strings.Contains(diags, "(2097153 bytes)") {
		t.Errorf("the diagnostic does not name the annotation and the value's length: %.2000s", diags)
	}
	eventually(t, 5*time.Second, "the diagnostic to be logged", func() bool {
		return strings.Contains(m.logs.String(), "proxy-body-size")
	})
	sc := bufio.NewScanner(strings.NewReader(m.logs.String()))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if n := len(sc.Text()); n > 64<<10 {
			t.Errorf("a log line is %d bytes: %.300s", n, sc.Text())
		}
	}
}
