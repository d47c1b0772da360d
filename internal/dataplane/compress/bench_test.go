package compress

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg/compression"
	"github.com/moat-ingress/moat/internal/testutil"
)

// nullWriter is a ResponseWriter that drops the body and counts it.
type nullWriter struct {
	h http.Header
	n int64
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(int)             {}
func (w *nullWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }
func (w *nullWriter) Flush()                      {}

// BenchmarkWriter is the compression step alone for one ~10 KiB HTML
// response, written in one piece, at ingress-nginx's default levels (gzip
// 1, brotli 4): the CPU that compression adds to a response, without the
// exchange around it (dataplane/proxy BenchmarkCompression has that).
func BenchmarkWriter(b *testing.B) {
	page := testutil.HTMLPage(10 << 10)
	types, _ := compression.ParseTypes("")
	r := httptest.NewRequest(http.MethodGet, "https://foo.com/", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	pools := NewEncoders()
	for _, c := range []struct {
		name string
		cfg  compression.Config
	}{
		{"off", compression.Config{}},
		{"gzip", compression.Config{Gzip: true, GzipLevel: 1, GzipMinLength: 256, GzipTypes: types}},
		{"brotli", compression.Config{Brotli: true, BrotliLevel: 4, BrotliMinLength: 20, BrotliTypes: types}},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := &nullWriter{h: http.Header{}}
			var cw Writer
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				clear(w.h)
				w.h["Content-Type"] = []string{"text/html"}
				w.h["Content-Length"] = []string{strconv.Itoa(len(page))}
				cw.Reset(w, r, &c.cfg, pools)
				cw.WriteHeader(http.StatusOK)
				cw.Write(page)
				cw.Close()
			}
			b.ReportMetric(float64(w.n)/float64(b.N), "sent-B/op")
		})
	}
}
