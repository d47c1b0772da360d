package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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
