package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
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

// TestChangeWithoutRestart edits manifests while clients keep sending
// requests over kept-alive connections: every change is visible within 1 s
// and no request fails.
func TestChangeWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	one := startEcho(t, "127.0.0.1:0", "one")
	two := startEcho(t, "127.0.0.1:0", "two")
	base := join(service("default", "one", one), service("default", "two", two))
	writeFile(t, dir, "svc.yaml", base)
	writeFile(t, dir, "ing.yaml", ingress("default", "site", "site.example", "", "/", "one"))
	// Production coalescing (100 ms hold-off, 500 ms at most).
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.HoldOff, c.MaxDelay = 0, 0 })
	c := m.client(nil, false)

	var current atomic.Value // backend name the last response came from
	current.Store("")
	var failures, total atomic.Int64
	var failMsg atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ { // bounded; stops with the test
				select {
				case <-stop:
					return
				default:
				}
				r, err := do(c, "http://site.example/")
				total.Add(1)
				if err != nil || r.status != 200 {
					failures.Add(1)
					failMsg.Store(fmt.Sprintf("err=%v status=%d body=%q", err, r.status, r.body))
					continue
				}
				current.Store(r.echo.Name)
			}
		}()
	}
	waitFor := func(name string) time.Duration {
		start := time.Now()
		eventually(t, time.Second, "requests to reach "+name, func() bool { return current.Load() == name })
		return time.Since(start)
	}
	waitFor("one")
	var lat []time.Duration
	for i := 0; i < 6; i++ {
		next := []string{"two", "one"}[i%2]
		writeFile(t, dir, "ing.yaml", ingress("default", "site", "site.example", "", "/", next))
		lat = append(lat, waitFor(next))
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during 6 changes; change-to-visible latencies %v", total.Load(), lat)
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during reloads; last: %v", n, total.Load(), failMsg.Load())
	}
}

// TestMalformedFileNextToGoodOnes: a broken file is reported by name and
// left out; the good ones serve; fixing it later works; breaking a file
// that was good keeps nothing else from serving.
func TestMalformedFileNextToGoodOnes(t *testing.T) {
	dir := t.TempDir()
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "good.yaml", join(service("default", "web", be), ingress("default", "good", "good.example", "", "/", "web")))
	writeFile(t, dir, "broken.yaml", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: broken\nspec: [\n")
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	if r := get(t, c, "http://good.example/"); r.status != 200 || r.echo.Name != "web" {
		t.Fatalf("good host: %d", r.status)
	}
	diags := m.diagnostics(t)
	if !strings.Contains(diags, "broken.yaml") || !strings.Contains(diags, "ManifestParseError") {
		t.Fatalf("diagnostics do not name broken.yaml:\n%s", diags)
	}
	writeFile(t, dir, "broken.yaml", ingress("default", "fixed", "fixed.example", "", "/", "web"))
	eventually(t, 5*time.Second, "fixed.example to serve", func() bool {
		r, err := do(c, "http://fixed.example/")
		return err == nil && r.status == 200
	})
	writeFile(t, dir, "good.yaml", "kind: [unbalanced\n")
	eventually(t, 5*time.Second, "the diagnostic for good.yaml", func() bool {
		d := m.diagnostics(t)
		return strings.Contains(d, "good.yaml") && strings.Contains(d, "LastGoodManifestKept")
	})
	// good.yaml held the Service: its last good content keeps serving
	// until the file is fixed, so fixed.example still reaches web.
	if r := get(t, c, "http://fixed.example/"); r.status != 200 || r.echo.Name != "web" {
		t.Fatalf("fixed.example after its Service's file broke: %d, want 200 from the last good Service", r.status)
	}
	// Deleting the file is deliberate: its objects go.
	if err := os.Remove(filepath.Join(dir, "good.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "fixed.example to answer 503 without its Service", func() bool {
		r, err := do(c, "http://fixed.example/")
		return err == nil && r.status == 503
	})
}

// diagnostics returns the admin endpoint's JSON.
func (m *moat) diagnostics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + m.addrs.Admin + "/debug/diagnostics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestWebSocketThroughMoat upgrades a connection over TLS and echoes a frame.
func TestWebSocketThroughMoat(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	be := startEcho(t, "127.0.0.1:0", "ws")
	writeFile(t, dir, "ws.yaml", join(service("default", "ws", be), ca.secret(t, "default", "ws-cert", "ws.example"),
		ingress("default", "ws", "ws.example", "ws-cert", "/", "ws")))
	m := startMoat(t, dir, nil)
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: "ws.example", RootCAs: ca.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade answered %d accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	// One masked text frame "hello" (RFC 6455 §5.2).
	payload := []byte("hello")
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x81 || string(got) != "hello" {
		t.Fatalf("echoed frame %x %q, want text frame \"hello\"", hdr, got)
	}
}
