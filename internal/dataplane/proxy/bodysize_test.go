package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestBodySizeOneAnswer: proxy-body-size gives the same local 413 (text
// body, connection closed for a body of unknown length) whether the body
// is declared too long, read whole (request buffering on, in memory or
// spooled) or streamed (buffering off); only a streamed body may reach
// the upstream first, and its 413 still comes from the proxy.
func TestBodySizeOneAnswer(t *testing.T) {
	var hits atomic.Int64
	up := backend(t, "a")
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		io.WriteString(w, "read")   //nolint:errcheck
	})
	route := func(path string, b routecfg.Body) *routecfg.Route {
		rt := prefix(path, "a")
		rt.Policy = &routecfg.RoutePolicy{Body: &b}
		return rt
	}
	const limit = 4 << 10
	cfg := config([]*routecfg.Pool{pool("a", addr(up))}, &routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{
		route("/memory", routecfg.Body{MaxBytes: limit, RequestBuffering: true, BufferBytes: 64 << 10}),
		route("/spool", routecfg.Body{MaxBytes: limit, RequestBuffering: true, BufferBytes: 1 << 10}),
		route("/stream", routecfg.Body{MaxBytes: limit}),
	}})
	f := newFixture(t, cfg, false)
	for _, tc := range []struct {
		path      string
		n         int
		chunked   bool
		status    int
		reachesUp bool
	}{
		{"/memory", limit, true, 200, true},
		{"/memory", limit + 1, false, 413, false},
		{"/memory", limit + 1, true, 413, false},
		{"/spool", limit + 1, true, 413, false},
		{"/spool", limit, true, 200, true},
		{"/stream", limit, true, 200, true},
		{"/stream", 256 << 10, true, 413, true},
	} {
		var body io.Reader = strings.NewReader(strings.Repeat("x", tc.n))
		if tc.chunked {
			body = io.MultiReader(body)
		}
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+tc.path, body)
		req.Host = "foo.com"
		before := hits.Load()
		res, err := f.client().Do(req)
		if err != nil {
			t.Fatalf("%s %d bytes: %v", tc.path, tc.n, err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %d bytes (chunked %v): %d %q, want %d", tc.path, tc.n, tc.chunked, res.StatusCode, got, tc.status)
			continue
		}
		if tc.status == 413 {
			if string(got) != "413 Request Entity Too Large\n" || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%s %d bytes: 413 answer %q (%s), want the proxy's own", tc.path, tc.n, got, res.Header.Get("Content-Type"))
			}
			if tc.chunked && !res.Close {
				t.Errorf("%s %d bytes: the connection stays open after a 413 for a body of unknown length", tc.path, tc.n)
			}
		}
		if !tc.reachesUp && hits.Load() != before {
			t.Errorf("%s %d bytes (chunked %v): reached the upstream", tc.path, tc.n, tc.chunked)
		}
	}
}
