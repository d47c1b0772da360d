package lifecycle

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/testutil"
)

// TestSIGHUPRereadsUnderLoad: SIGHUP makes moat read every manifest again,
// including a change the watcher cannot tell (same size, same
// modification time), while requests keep flowing: none fails, and moat
// keeps running.
func TestSIGHUPRereadsUnderLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "svc.yaml", service("svc-a", backend(t, "a"))+"---\n"+service("svc-b", backend(t, "b")))
	writeFile(t, dir, "cm.yaml", configMap("2s"))
	ing := writeFile(t, dir, "ingress.yaml", ingress("svc-a"))
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(ing, old, old); err != nil {
		t.Fatal(err)
	}
	m := startMoat(t, dir, time.Second)
	a := &testutil.Replica{Name: "a", HTTP: m.http, Admin: m.admin}
	b := testutil.NewBalancer(300*time.Millisecond, a)
	defer b.Close()
	testutil.Eventually(t, 10*time.Second, "moat ready", func() error {
		if !a.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	load := testutil.StartLoad(b, "http://lc.test/", 4, 50000, 30*time.Second)
	defer load.Stop()

	// The same number of bytes, and the old modification time put back:
	// to the watcher's stat the file is unchanged.
	f, err := os.OpenFile(ing, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(ingress("svc-b")), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(ing, old, old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // well past the file debounce and reconcile hold-off
	if got, err := backendOf(m.http); err != nil || got != "a" {
		t.Fatalf("before SIGHUP: served by %q (%v), want a: the watcher saw the change, so this test cannot show the re-read", got, err)
	}

	okBefore := load.OK.Load()
	for range 3 {
		m.signal(t, syscall.SIGHUP)
		time.Sleep(100 * time.Millisecond)
	}
	testutil.Eventually(t, 5*time.Second, "the re-read route to svc-b", func() error {
		got, err := backendOf(m.http)
		if err != nil {
			return err
		}
		if got != "b" {
			return fmt.Errorf("served by %q", got)
		}
		return nil
	})
	load.AtLeast(t, load.OK.Load(), 50)
	load.Stop()
	if !m.running() {
		t.Fatalf("moat exited after SIGHUP: %v", m.err)
	}
	if n := load.Failed.Load(); n != 0 || okBefore == 0 {
		t.Errorf("load: %d ok (%d before SIGHUP), %d failed; want 0 failed; first errors: %v", load.OK.Load(), okBefore, n, load.Errors())
	}
	if !m.logged("re-reading on request (SIGHUP)") || !m.logged("manifests read") {
		t.Error("no INFO line for the re-read")
	}
	t.Logf("load: %d requests, 0 failed", load.OK.Load())
}

// TestSIGTERMDrainsUnderLoad: two replicas behind a balancer that, like an
// endpoints controller, dials only replicas whose /readyz answers 200
// (300 ms behind, as an endpoint change takes time to propagate). One
// gets SIGTERM while a slow request, an HTTP/2 stream and a WebSocket are
// open through it. Its /readyz fails at once; it still accepts for the
// grace period; then its listeners close, the slow request's response
// carries Connection: close, the HTTP/2 connection gets GOAWAY and its
// stream completes, the WebSocket keeps working until worker-shutdown-
// timeout, when it gets a Close frame (1001); the process exits 0. No
// request of the load fails.
func TestSIGTERMDrainsUnderLoad(t *testing.T) {
	const grace, drain = 1500 * time.Millisecond, 2 * time.Second
	dir := t.TempDir()
	writeFile(t, dir, "svc.yaml", service("svc-a", backend(t, "a")))
	writeFile(t, dir, "cm.yaml", configMap("2s"))
	writeFile(t, dir, "ingress.yaml", ingress("svc-a"))
	m1, m2 := startMoat(t, dir, grace), startMoat(t, dir, grace)
	r1 := &testutil.Replica{Name: "m1", HTTP: m1.http, Admin: m1.admin}
	r2 := &testutil.Replica{Name: "m2", HTTP: m2.http, Admin: m2.admin}
	b := testutil.NewBalancer(300*time.Millisecond, r1, r2)
	defer b.Close()
	testutil.Eventually(t, 10*time.Second, "both replicas ready", func() error {
		if !r1.Ready() || !r2.Ready() {
			return fmt.Errorf("ready: %v %v", r1.Ready(), r2.Ready())
		}
		return nil
	})
	load := testutil.StartLoad(b, "http://lc.test/", 4, 50000, 30*time.Second)
	defer load.Stop()

	ws, err := testutil.DialWS(m1.http, "lc.test", "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Conn.Close()
	if err := ws.Echo("before"); err != nil {
		t.Fatal(err)
	}
	h2c := h2Conn(t, m1.https)
	time.Sleep(200 * time.Millisecond)

	okBefore := load.OK.Load()
	sigterm := time.Now()
	m1.signal(t, syscall.SIGTERM)
	// The slow request's response head comes after the grace period, when
	// the drain has begun; its stream over HTTP/2 likewise.
	slow := make(chan *http.Response, 1)
	slowErr := make(chan error, 2)
	go func() {
		c := direct(m1.http, false)
		res, err := c.Get("http://lc.test/slow?d=2500ms")
		if err != nil {
			slowErr <- err
			return
		}
		slow <- res
	}()
	h2res := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", "https://lc.test/slow?d=2500ms", nil)
		res, err := h2c.RoundTrip(req)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil && (res.StatusCode != 200 || string(body) != "slow done\n") {
				err = fmt.Errorf("HTTP/2 slow request: %d %q", res.StatusCode, body)
			}
		}
		h2res <- err
	}()

	testutil.Eventually(t, time.Second, "the balancer to see m1 unready", func() error {
		if r1.Ready() {
			return fmt.Errorf("still ready")
		}
		return nil
	})
	// Within the grace period m1 still accepts and serves new connections.
	time.Sleep(time.Until(sigterm.Add(grace / 2)))
	if got, err := backendOf(m1.http); err != nil || got != "a" {
		t.Errorf("a new connection during the grace period: %q, %v; want served", got, err)
	}
	if !m1.running() {
		t.Fatal("m1 exited within the grace period")
	}
	// After it, the listeners are closed, but the WebSocket still works.
	time.Sleep(time.Until(sigterm.Add(grace + 500*time.Millisecond)))
	if c, err := net.DialTimeout("tcp", m1.http, time.Second); err == nil {
		c.Close()
		t.Error("m1 still accepts connections after the grace period")
	}
	if err := ws.Echo("during the drain"); err != nil {
		t.Errorf("WebSocket during the drain: %v", err)
	}
	if n, f := h2c.Available(), h2c.InFlight(); n != 0 || f != 1 {
		t.Errorf("HTTP/2 connection after the grace period: room for %d more streams, %d in flight; want 0 (GOAWAY received) and 1", n, f)
	}

	select {
	case res := <-slow:
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != "slow done\n" {
			t.Errorf("slow request: %d %q", res.StatusCode, body)
		}
		if !res.Close {
			t.Errorf("slow request answered in the drain without Connection: close (headers %v)", res.Header)
		}
	case err := <-slowErr:
		t.Errorf("slow request: %v", err)
	case <-time.After(5 * time.Second):
		t.Error("slow request not answered")
	}
	if err := <-h2res; err != nil {
		t.Errorf("HTTP/2 stream across the drain: %v", err)
	}

	// The WebSocket is closed at the drain's end with 1001 (going away).
	op, p, err := ws.Recv(grace + drain + 3*time.Second)
	closedAt := time.Since(sigterm)
	switch {
	case err != nil:
		t.Errorf("WebSocket at the end of the drain: %v (after %v), want a Close frame", err, closedAt)
	case op != 8 || testutil.CloseCode(p) != 1001:
		t.Errorf("WebSocket got opcode %d code %d, want Close 1001", op, testutil.CloseCode(p))
	case closedAt < grace+drain-200*time.Millisecond:
		t.Errorf("WebSocket closed %v after SIGTERM, before the drain's end (%v)", closedAt, grace+drain)
	}
	if _, _, err := ws.Recv(3 * time.Second); err != io.EOF {
		t.Errorf("after the Close frame: %v, want EOF", err)
	}

	select {
	case <-m1.exited:
		if m1.err != nil {
			t.Errorf("m1 exit: %v, want status 0", m1.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("m1 still running 5 s after the drain's end")
	}
	exited := time.Since(sigterm)
	// The load goes on against m2 alone for a while.
	load.AtLeast(t, load.OK.Load(), 50)
	load.Stop()
	if n := load.Failed.Load(); n != 0 || okBefore == 0 {
		t.Errorf("load: %d ok (%d before SIGTERM), %d failed; want 0 failed; first errors: %v", load.OK.Load(), okBefore, n, load.Errors())
	}
	for _, msg := range []string{"shutdown: /readyz fails", "shutdown: listeners closed", "shutdown: drain timeout reached", "shutdown: stopping"} {
		if !m1.logged(msg) {
			t.Errorf("no INFO line %q", msg)
		}
	}
	if !m2.running() {
		t.Error("m2 stopped")
	}
	t.Logf("load: %d requests, 0 failed; dials m1 %d, m2 %d; m1 unready %v after SIGTERM, WebSocket closed after %v, exited after %v",
		load.OK.Load(), b.Dials("m1"), b.Dials("m2"), r1.UnreadySince().Sub(sigterm).Round(time.Millisecond),
		closedAt.Round(time.Millisecond), exited.Round(time.Millisecond))
}

// direct is a client whose connections all go to addr.
func direct(addr string, keepAlive bool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
}

// h2Conn opens one HTTP/2 connection to addr (moat's generated default
// certificate, not verified).
func h2Conn(t *testing.T, addr string) *http.ClientConn {
	t.Helper()
	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{Protocols: &protos, TLSClientConfig: &tls.Config{ServerName: "lc.test", InsecureSkipVerify: true}}
	cc, err := tr.NewClientConn(context.Background(), "https", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestWaitShutdown: the preStop command starts the graceful shutdown and
// returns only once moat has exited, after the grace period.
func TestWaitShutdown(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "svc.yaml", service("svc-a", backend(t, "a")))
	writeFile(t, dir, "cm.yaml", configMap("2s"))
	writeFile(t, dir, "ingress.yaml", ingress("svc-a"))
	const grace = 500 * time.Millisecond
	m := startMoat(t, dir, grace)
	start := time.Now()
	out, err := exec.Command(moatBin, "wait-shutdown", "--pid", strconv.Itoa(m.cmd.Process.Pid)).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("moat wait-shutdown: %v\n%s", err, out)
	}
	select {
	case <-m.exited:
	default:
		t.Fatalf("moat wait-shutdown returned after %v while moat still runs", took)
	}
	if m.err != nil {
		t.Errorf("moat exit: %v, want status 0", m.err)
	}
	if took < grace {
		t.Errorf("moat wait-shutdown returned after %v, within the grace period %v", took, grace)
	}
	if !m.logged("shutdown: drained") {
		t.Error("no INFO line \"shutdown: drained\"")
	}
}
