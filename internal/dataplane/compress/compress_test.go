package compress

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/moat-ingress/moat/internal/routecfg/compression"
)

// TestHeaders: the header rules on their own (the bodies and the wire are
// test/e2e's TestCompression).
func TestHeaders(t *testing.T) {
	types, _ := compression.ParseTypes("")
	all, _ := compression.ParseTypes("*")
	gz := &compression.Config{Gzip: true, GzipLevel: 1, GzipTypes: types}
	cases := []struct {
		name string
		cfg  *compression.Config
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
		{"no Content-Type, *: none sent, none sniffed", &compression.Config{Gzip: true, GzipLevel: 1, GzipTypes: all}, http.Header{},
			http.Header{"Content-Type": nil, "Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}}},
		{"gRPC never, even with *", &compression.Config{Gzip: true, GzipLevel: 1, GzipTypes: all}, http.Header{"Content-Type": {"application/grpc+proto"}},
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

// FuzzWriter: the upstream's header values and the client's
// Accept-Encoding and User-Agent are network bytes. Whatever they are, the
// writer never panics, never compresses twice, and what it compresses
// decodes to the body written.
func FuzzWriter(f *testing.F) {
	f.Add("text/html; charset=utf-8", "300", "", "Origin", `"v1"`, "gzip, br", "curl/8", 200)
	f.Add("application/json", "10", "gzip", "*", "W/x", "br;q=0, gzip;q=0.5", "MSIE 6.0", 404)
	f.Add("", "-1", "", "", "", "*", "", 304)
	f.Fuzz(func(t *testing.T, ctype, clen, cenc, vary, etag, ae, ua string, code int) {
		if code < 200 || code > 999 {
			return
		}
		types, _ := compression.ParseTypes("application/json")
		cfg := &compression.Config{Gzip: true, GzipLevel: 1, GzipMinLength: 20, GzipTypes: types,
			GzipDisable: regexp.MustCompile("(?i)bot"), GzipDisableMSIE6: true,
			Brotli: true, BrotliLevel: 1, BrotliMinLength: 20, BrotliTypes: types}
		r := httptest.NewRequest(http.MethodGet, "https://foo.com/", nil)
		r.Header["Accept-Encoding"] = []string{ae}
		r.Header["User-Agent"] = []string{ua}
		rec := httptest.NewRecorder()
		h := rec.Header()
		for k, v := range map[string]string{"Content-Type": ctype, "Content-Length": clen, "Content-Encoding": cenc, "Vary": vary, "Etag": etag} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		body := []byte(strings.Repeat("<p>fuzz body</p>", 8))
		var cw Writer
		cw.Reset(rec, r, cfg, NewEncoders())
		cw.WriteHeader(code)
		cw.Write(body[:50])
		cw.FlushError()
		cw.Write(body[50:])
		cw.Close()
		got := rec.Result().Header.Values("Content-Encoding")
		switch cw.Coding() {
		case None:
			if len(got) > 1 || (len(got) == 1 && got[0] != cenc) {
				t.Fatalf("not compressing, yet Content-Encoding %q (upstream %q)", got, cenc)
			}
			if !bytes.Equal(rec.Body.Bytes(), body) && code != http.StatusNotModified && code != http.StatusNoContent {
				t.Fatalf("body changed without compression")
			}
		case Gzip, Brotli:
			if cenc != "" || len(got) != 1 {
				t.Fatalf("compressed over Content-Encoding %q: %q", cenc, got)
			}
			var dec io.Reader = brotli.NewReader(rec.Body)
			if cw.Coding() == Gzip {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				dec = zr
			}
			out, err := io.ReadAll(dec)
			if err != nil || !bytes.Equal(out, body) {
				t.Fatalf("%q decodes to %q, %v", got, out, err)
			}
		}
	})
}
