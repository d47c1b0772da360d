package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestProfilingOnlyWhenEnabled(t *testing.T) {
	get := func(s *Server, path string) (int, string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	off := New(prometheus.NewRegistry(), func() bool { return true })
	if code, _ := get(off, "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("profiling off: /debug/pprof/ answered %d, want 404", code)
	}
	on := New(prometheus.NewRegistry(), func() bool { return true })
	on.EnableProfiling()
	code, body := get(on, "/debug/pprof/")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profiling on: /debug/pprof/ answered %d %.100q, want 200 with the profile index", code, body)
	}
	if code, body := get(on, "/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Fatalf("profiling on: heap profile answered %d %.100q", code, body)
	}
	if code, _ := get(on, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz answered %d with profiling on", code)
	}
}

// TestDebugListsAreNeverNull: with no hosts and no diagnostics the debug
// endpoints answer an empty JSON list, which clients can iterate, not
// null.
func TestDebugListsAreNeverNull(t *testing.T) {
	s := New(prometheus.NewRegistry(), func() bool { return true })
	s.Observe(reconcile.Result{Config: &routecfg.Config{}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	for _, path := range []string{"/debug/certs", "/debug/diagnostics"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
			t.Errorf("%s: %d %q, want 200 []", path, resp.StatusCode, body)
		}
	}
}
