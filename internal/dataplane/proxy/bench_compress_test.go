package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/compression"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/testutil"
)

// countingWriter is discardWriter counting the body bytes.
type countingWriter struct {
	discardWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// BenchmarkCompression is Handler.ServeHTTP proxying the ~10 KiB HTML page
// from a loopback backend to a client that accepts gzip and br, with
// compression off, use-gzip (level 1) and enable-brotli (level 4), the
// ingress-nginx defaults. sent-B/op is what the client gets.
func BenchmarkCompression(b *testing.B) {
	page := testutil.HTMLPage(10 << 10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	}))
	defer up.Close()
	types, _ := compression.ParseTypes("text/css application/json")
	for _, c := range []struct {
		name string
		comp *compression.Config
	}{
		{"off", nil},
		{"gzip", &compression.Config{Gzip: true, GzipLevel: 1, GzipMinLength: 256, GzipTypes: types}},
		{"brotli", &compression.Config{Brotli: true, BrotliLevel: 4, BrotliMinLength: 20, BrotliTypes: types}},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := config([]*routecfg.Pool{pool("a", addr(up))},
				&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "a")}})
			cfg.Global = &global.Settings{Compression: c.comp}
			f := newFixture(b, cfg, false)
			f.h.accessLog = accesslog.NewWriter(io.Discard, false, f.h.logger, nil)
			req := httptest.NewRequest(http.MethodGet, "http://foo.com/catalogue", nil)
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			w := &countingWriter{discardWriter: discardWriter{h: http.Header{}}}
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				clear(w.h)
				f.h.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
			b.ReportMetric(float64(w.n)/float64(b.N), "sent-B/op")
			if want := map[string]string{"off": "", "gzip": "gzip", "brotli": "br"}[c.name]; w.h.Get("Content-Encoding") != want {
				b.Fatalf("Content-Encoding %q, want %q", w.h.Get("Content-Encoding"), want)
			}
		})
	}
}
