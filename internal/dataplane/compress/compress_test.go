package compress

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestHeaders: the header rules on their own (the bodies and the wire are
// test/e2e's TestCompression).
func TestHeaders(t *testing.T) {
	types, _ := routecfg.ParseMIMETypes("")
	all, _ := routecfg.ParseMIMETypes("*")
	gz := &routecfg.Compression{Gzip: true, GzipLevel: 1, GzipTypes: types}
	cases := []struct {
		name string
		cfg  *routecfg.Compression
		in   http.Header
		want http.Header
	}{
		{"unquoted ETag dropped", gz, http.Header{"Content-Type": {"text/html"}, "Etag": {"v1"}},
			http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}}},
		{"weak ETag kept", gz, http.Header{"Content-Type": {"text/html"}, "Etag": {`W/"v1"`}},
			http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}, "Etag": {`W/"v1"`}}},
		{"Vary * kept alone", gz, http.Header{"Content-Type": {"text/html"}, "Vary": {"*"}},
			http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}, "Vary": {"*"}}},
		{"Vary listing it not repeated", gz, http.Header{"Content-Type": {"text/html"}, "Vary": {"Origin, accept-encoding"}},
			http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}, "Vary": {"Origin, accept-encoding"}}},
		{"empty Content-Encoding is none", gz, http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {""}},
			http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}}},
		{"no Content-Type, not listed", gz, http.Header{}, http.Header{}},
		{"no Content-Type, *: none sent, none sniffed", &routecfg.Compression{Gzip: true, GzipLevel: 1, GzipTypes: all}, http.Header{},
			http.Header{"Content-Type": nil, "Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}}},
		{"gRPC never, even with *", &routecfg.Compression{Gzip: true, GzipLevel: 1, GzipTypes: all}, http.Header{"Content-Type": {"application/grpc+proto"}},
			http.Header{"Content-Type": {"application/grpc+proto"}}},
	}
	pools := NewEncoders()
	r := httptest.NewRequest(http.MethodGet, "https://foo.com/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	for _, c := range cases {
		rec := httptest.NewRecorder()
		for k, v := range c.in {
			rec.Header()[k] = v
		}
		var cw Writer
		cw.Reset(rec, r, c.cfg, pools)
		cw.WriteHeader(http.StatusOK)
		cw.Write([]byte("<p>body</p>"))
		cw.Close()
		got := rec.Result().Header
		if len(got) != len(c.want) {
			t.Errorf("%s: header %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			g, ok := got[k]
			if !ok || len(g) != len(v) || (len(v) > 0 && g[0] != v[0]) {
				t.Errorf("%s: %s %q, want %q", c.name, k, g, v)
			}
		}
	}
}
