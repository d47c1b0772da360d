package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
)

// TestShutdownPhases runs app.Serve in process (so under the race
// detector in CI): a re-read request is logged and serving goes on; once
// the context ends /readyz fails while the listener still serves for the
// grace period, then the listener closes and Serve returns nil. An
// interrupt (ErrInterrupted) skips the grace period.
func TestShutdownPhases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cause error
		grace bool
	}{{"SIGTERM", errors.New("SIGTERM received"), true}, {"interrupt", app.ErrInterrupted, false}} {
		t.Run(tc.name, func(t *testing.T) {
			const grace = 500 * time.Millisecond
			logs := &syncBuffer{}
			ready := make(chan app.Addrs, 1)
			reread := make(chan struct{}, 1)
			c := app.ServeConfig{
				Manifests: []string{t.TempDir()}, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
				IngressClass: "moat", Log: slog.New(slog.NewJSONHandler(logs, nil)), Ready: func(a app.Addrs) { ready <- a },
				Lifecycle: app.Lifecycle{ShutdownGracePeriod: grace, ShutdownTimeout: time.Second, Reread: reread},
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() { done <- app.Serve(ctx, c) }()
			var a app.Addrs
			select {
			case a = <-ready:
			case err := <-done:
				t.Fatalf("Serve: %v", err)
			case <-time.After(15 * time.Second):
				t.Fatal("not ready")
			}
			reread <- struct{}{}
			waitLog(t, logs, "manifests read")
			if code, _ := shutdownGet(t, "http://"+a.Admin+"/readyz"); code != http.StatusOK {
				t.Fatalf("readyz %d before shutdown", code)
			}

			start := time.Now()
			cancel(tc.cause)
			waitLog(t, logs, "shutdown: /readyz fails")
			if tc.grace { // without one, the admin listener may already be gone
				if code, body := shutdownGet(t, "http://"+a.Admin+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
					t.Errorf("readyz during shutdown: %d %q", code, body)
				}
				if code, _ := shutdownGet(t, "http://"+a.Admin+"/healthz"); code != http.StatusOK {
					t.Errorf("healthz during shutdown: %d, want 200", code)
				}
				if code, _ := shutdownGet(t, "http://"+a.HTTP+"/"); code != http.StatusNotFound {
					t.Errorf("a new connection within the grace period: %d, want served (404, nothing configured)", code)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return")
			}
			if took := time.Since(start); tc.grace && took < grace {
				t.Errorf("Serve returned %v after the context ended, within the grace period %v", took, grace)
			}
			if conn, err := net.DialTimeout("tcp", a.HTTP, time.Second); err == nil {
				conn.Close()
				t.Error("the HTTP listener still accepts after Serve returned")
			}
			if tc.grace == strings.Contains(logs.String(), `"grace_period":"0s"`) {
				t.Errorf("grace period in the log: want skipped only for an interrupt\n%s", logs.String())
			}
		})
	}
}

func shutdownGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func waitLog(t *testing.T, logs *syncBuffer, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"`+msg) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q:\n%s", msg, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
