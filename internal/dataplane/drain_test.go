package dataplane

import (
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
	cfg := config([]*routecfg.Pool{pool("s", slow.Listener.Addr().String())},
		&routecfg.VirtualHost{Host: "plain.com", Routes: []*routecfg.Route{prefix("/", "s")}})
	const timeout = 600 * time.Millisecond
	r := start(t, cfg, func(o *Options) { o.ShutdownTimeout = timeout })

	ws, err := testutil.DialWS(r.httpAddr, "plain.com", "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Conn.Close()
	if err := ws.Echo("before"); err != nil {
		t.Fatal(err)
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
	if err := ws.Echo("during the drain"); err != nil {
		t.Errorf("WebSocket during the drain: %v", err)
	}
	op, p, err := ws.Recv(timeout + 3*time.Second)
	if err != nil || op != 8 || testutil.CloseCode(p) != 1001 {
		t.Errorf("WebSocket at the shutdown timeout: opcode %d code %d err %v, want Close 1001", op, testutil.CloseCode(p), err)
	}
	if took := time.Since(cancel); took < timeout {
		t.Errorf("WebSocket closed %v after the context ended, before the shutdown timeout %v", took, timeout)
	}
	if _, _, err := ws.Recv(3 * time.Second); err != io.EOF {
		t.Errorf("after the Close frame: %v, want EOF", err)
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
