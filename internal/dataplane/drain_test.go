package dataplane

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// TestDrain: once Serve's context ends, a request in flight finishes and
// its response says Connection: close; a WebSocket keeps working until the
// shutdown timeout and then gets a Close frame (1001); Serve returns nil.
func TestDrain(t *testing.T) {
	slow := httptest.NewServer(testutil.SlowHandler("slow"))
	t.Cleanup(slow.Close)
	const timeout = 600 * time.Millisecond
	r := start(t, nil, func(o *Options) { o.ShutdownTimeout = timeout })
	cfg := config([]*routecfg.Pool{pool("s", slow.Listener.Addr().String())},
		&routecfg.VirtualHost{Host: "plain.com", Routes: []*routecfg.Route{prefix("/", "s")}},
		&routecfg.VirtualHost{Host: "secure.com", TLS: true, Certificate: "ns/secure", Routes: []*routecfg.Route{prefix("/", "s")}})
	cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com")
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}

	// One WebSocket over plain HTTP, one over TLS (the Close frame then
	// goes through the TLS connection).
	ws, err := testutil.DialWS(r.httpAddr, "plain.com", "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Conn.Close()
	tc, err := tls.Dial("tcp", r.httpsAddr, &tls.Config{ServerName: "secure.com", RootCAs: r.roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	wss, err := testutil.UpgradeWS(tc, "secure.com", "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer wss.Conn.Close()
	for _, w := range []*testutil.WS{ws, wss} {
		if err := w.Echo("before"); err != nil {
			t.Fatal(err)
		}
	}
	inflight := make(chan *http.Response, 1)
	go func() {
		res, err := r.client(false).Get("http://plain.com/slow?d=300ms")
		if err != nil {
			t.Error(err)
			close(inflight)
			return
		}
		inflight <- res
	}()
	time.Sleep(100 * time.Millisecond) // the request is with the backend
	cancel := time.Now()
	r.cancel()

	if res, ok := <-inflight; ok {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != "slow done\n" || !res.Close {
			t.Errorf("request in flight at shutdown: %d %q, Connection: close %v; want 200, its body, close", res.StatusCode, body, res.Close)
		}
	}
	for i, w := range []*testutil.WS{ws, wss} {
		if err := w.Echo("during the drain"); err != nil {
			t.Errorf("WebSocket %d during the drain: %v", i, err)
		}
	}
	for i, w := range []*testutil.WS{ws, wss} {
		op, p, err := w.Recv(timeout + 3*time.Second)
		if err != nil || op != 8 || testutil.CloseCode(p) != 1001 {
			t.Errorf("WebSocket %d at the shutdown timeout: opcode %d code %d err %v, want Close 1001", i, op, testutil.CloseCode(p), err)
		}
		if took := time.Since(cancel); took < timeout {
			t.Errorf("WebSocket %d closed %v after the context ended, before the shutdown timeout %v", i, took, timeout)
		}
		if _, _, err := w.Recv(3 * time.Second); err != io.EOF {
			t.Errorf("WebSocket %d after the Close frame: %v, want EOF", i, err)
		}
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		r.done <- nil // for start's cleanup
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return after the drain")
	}
}
