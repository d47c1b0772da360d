package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
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

// TestDiagnosticValuesBounded: a 512 KiB annotation value makes neither a
// 512 KiB log line nor a 512 KiB /debug/diagnostics; the diagnostic still says
// which annotation is wrong and how long its value was (#11 item 10).
func TestDiagnosticValuesBounded(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "app")
	big := strings.Repeat("9", 512<<10) + "x"
	writeFile(t, dir, "big.yaml", join(service("default", "app", be),
		annIngress("big", "big.example", "app", map[string]string{"proxy-body-size": big, "auth-url": "http://a/" + big})))
	m := startMoat(t, dir, nil)
	diags := m.diagnostics(t)
	if len(diags) > 64<<10 {
		t.Errorf("/debug/diagnostics is %d bytes", len(diags))
	}
	if !strings.Contains(diags, "proxy-body-size") || !strings.Contains(diags, "(524289 bytes)") {
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

// TestNonAtomicWritesUnderLoad: a manifest rewritten in place in several
// chunks, with pauses, while a client hammers its routes: every request
// succeeds. Each chunk ends between documents, so every prefix parses;
// before moat held back files still being written, 22% of requests got
// 404 (#11 item 5).
func TestNonAtomicWritesUnderLoad(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "app")
	writeFile(t, dir, "svc.yaml", service("default", "app", be))
	const hosts = 8
	var docs []string
	for i := range hosts {
		docs = append(docs, ingress("default", fmt.Sprintf("web%d", i), fmt.Sprintf("h%d.example", i), "", "/", "app"))
	}
	content := join(docs...)
	writeFile(t, dir, "ingresses.yaml", content)
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	for i := range hosts {
		if r := get(t, c, fmt.Sprintf("http://h%d.example/", i)); r.status != 200 {
			t.Fatalf("h%d.example: %d before any rewrite", i, r.status)
		}
	}

	stop := make(chan struct{})
	var total, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				url := fmt.Sprintf("http://h%d.example/", i%hosts)
				r, err := do(c, url)
				total.Add(1)
				if err != nil || r.status != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %d %v", url, r.status, err))
				}
			}
		}()
	}
	// Rewrite in place (truncate, then chunks of two documents with a
	// pause after each), as `cat > file` or a slow copy would; each round
	// changes a label so that the final content differs.
	path := filepath.Join(dir, "ingresses.yaml")
	for round := range 4 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		round := strings.Replace(content, "name: web0,", fmt.Sprintf("name: web0, labels: {round: r%d},", round), 1)
		parts := strings.SplitAfter(round, "\n---\n")
		for i := 0; i < len(parts); i += 2 {
			chunk := parts[i]
			if i+1 < len(parts) {
				chunk += parts[i+1]
			}
			if _, err := f.WriteString(chunk); err != nil {
				t.Fatal(err)
			}
			time.Sleep(40 * time.Millisecond)
		}
		f.Close()
		time.Sleep(500 * time.Millisecond) // quiet: applied
	}
	close(stop)
	wg.Wait()
	if total.Load() < 20 {
		t.Fatalf("only %d requests", total.Load())
	}
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during in-place writes; first: %v", n, total.Load(), firstFailure.Load())
	}
	t.Logf("%d requests, 0 failed", total.Load())
}

// TestManifestDirectoryDeleted: deleting the manifests directory keeps
// the last good configuration serving, with a diagnostic naming the path;
// when the directory comes back it is read and watched again (#11 item 6).
func TestManifestDirectoryDeleted(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	be := startEcho(t, "127.0.0.1:0", "app")
	writeFile(t, dir, "app.yaml", join(service("default", "app", be), ingress("default", "web", "web.example", "", "/", "app")))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	if r := get(t, c, "http://web.example/"); r.status != 200 {
		t.Fatalf("before: %d", r.status)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a diagnostic naming the deleted directory", func() bool {
		d := m.diagnostics(t)
		return strings.Contains(d, "ManifestPathGone") && strings.Contains(d, dir)
	})
	for range 20 {
		if r := get(t, c, "http://web.example/"); r.status != 200 {
			t.Fatalf("after the directory was deleted: %d, want 200 from the last good configuration", r.status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Back, with other content: read and watched again.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "app.yaml", join(service("default", "app", be), ingress("default", "web", "other.example", "", "/", "app")))
	eventually(t, 5*time.Second, "other.example to be served from the re-created directory", func() bool {
		r, err := do(c, "http://other.example/")
		return err == nil && r.status == 200
	})
	writeFile(t, dir, "app.yaml", join(service("default", "app", be), ingress("default", "web", "third.example", "", "/", "app")))
	eventually(t, 5*time.Second, "a change in the re-created directory to be applied", func() bool {
		r, err := do(c, "http://third.example/")
		return err == nil && r.status == 200
	})
	if d := m.diagnostics(t); strings.Contains(d, "ManifestPathGone") {
		t.Errorf("ManifestPathGone still reported after the directory came back")
	}
}

// TestDebugAddr: with --debug-addr, /debug/* (and pprof) are served only
// there, and the admin listener keeps /healthz, /readyz and /metrics;
// without it everything stays on the admin listener.
func TestDebugAddr(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "app")
	writeFile(t, dir, "app.yaml", join(service("default", "app", be), ingress("default", "web", "web.example", "", "/", "app")))
	status := func(addr, path string) int {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s%s: %v", addr, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	debug := []string{"/debug/config", "/debug/diagnostics", "/debug/certs", "/debug/pprof/"}
	health := []string{"/healthz", "/readyz", "/metrics"}

	split := startMoat(t, dir, func(c *app.ServeConfig) { c.DebugAddr = "127.0.0.1:0"; c.Profiling = true })
	if split.addrs.Debug == "" || split.addrs.Debug == split.addrs.Admin {
		t.Fatalf("debug address %q (admin %q)", split.addrs.Debug, split.addrs.Admin)
	}
	for _, p := range health {
		if got := status(split.addrs.Admin, p); got != 200 {
			t.Errorf("admin %s: %d, want 200", p, got)
		}
		if got := status(split.addrs.Debug, p); got != 404 {
			t.Errorf("debug %s: %d, want 404", p, got)
		}
	}
	for _, p := range debug {
		if got := status(split.addrs.Admin, p); got != 404 {
			t.Errorf("admin %s with --debug-addr: %d, want 404", p, got)
		}
		if got := status(split.addrs.Debug, p); got != 200 {
			t.Errorf("debug %s: %d, want 200", p, got)
		}
	}

	one := startMoat(t, dir, func(c *app.ServeConfig) { c.Profiling = true })
	if one.addrs.Debug != "" {
		t.Errorf("a debug listener without --debug-addr: %q", one.addrs.Debug)
	}
	for _, p := range append(health, debug...) {
		if got := status(one.addrs.Admin, p); got != 200 {
			t.Errorf("admin %s without --debug-addr: %d, want 200", p, got)
		}
	}
}
