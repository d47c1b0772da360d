package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// discardWriter is a minimal ResponseWriter, so the benchmark measures the
// handler rather than httptest.ResponseRecorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) Flush()                      {}

// BenchmarkProxy is Handler.ServeHTTP proxying a GET to a loopback backend
// (keep-alive), with access logging to io.Discard. The allocations include
// net/http's client side of the exchange (Transport and response parsing).
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer up.Close()
	cfg := config([]*routecfg.Pool{pool("a", addr(up))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/api", "b"), prefix("/", "a")}})
	f := newFixture(b, cfg, false)
	f.h.accessLog = accesslog.NewWriter(io.Discard, false, f.h.logger, nil)
	req := httptest.NewRequest(http.MethodGet, "http://foo.com/some/path?q=1", nil)
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		f.h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkLocal404 is the cost of an answer that never leaves the proxy.
func BenchmarkLocal404(b *testing.B) {
	cfg := config(nil, &routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{{Path: "/x", Match: routecfg.MatchExact}}})
	f := newFixture(b, cfg, false)
	f.h.accessLog = accesslog.NewWriter(io.Discard, false, f.h.logger, nil)
	req := httptest.NewRequest(http.MethodGet, "http://foo.com/nope", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		f.h.ServeHTTP(w, req)
	}
}
