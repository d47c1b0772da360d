package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// BenchmarkObserve is what a request costs with metrics and the access
// log on (written to io.Discard), the defaults of moat serve: proxied to
// a loopback backend, and answered locally (404).
func BenchmarkObserve(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer up.Close()
	cfg := config([]*routecfg.Pool{pool("a", addr(up))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "a")}},
		&routecfg.VirtualHost{Host: "bar.com", Routes: []*routecfg.Route{{Path: "/x", Match: routecfg.MatchExact}}})
	f := newFixture(b, cfg, false, func(o *Options, _ *upstream.TransportOptions) {
		o.Metrics = metrics.New(prometheus.NewRegistry())
		o.AccessLog = io.Discard
		o.AccessLogJSON = false // the default format
	})
	for _, c := range []struct{ name, url string }{{"proxy", "http://foo.com/some/path?q=1"}, {"local404", "http://bar.com/nope"}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, c.url, nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (bench)")
			req.Header.Set("Referer", "https://example.com/")
			req.Header.Set("Accept", "*/*")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				f.h.ServeHTTP(w, req)
			}
		})
	}
}
