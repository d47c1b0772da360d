package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/moat-ingress/moat/internal/app"
)

// compressionBackend answers fixed bodies on loopback: HTML with a
// Content-Length, ETag and Accept-Ranges; a body already gzipped; a small
// one; types in and out of the lists; 204, 304, 206; and a stream that
// waits for the test between its two chunks.
type compressionBackend struct {
	addr     string
	html     []byte
	gzipped  []byte // html, gzipped by the backend
	small    []byte
	part1    []byte
	part2    []byte
	release  chan struct{}
	finished atomic.Bool
}

func startCompressionBackend(t *testing.T) *compressionBackend {
	t.Helper()
	b := &compressionBackend{release: make(chan struct{})}
	var page strings.Builder
	page.WriteString("<!doctype html><html><head><title>moat</title></head><body>\n")
	for i := 0; page.Len() < 10<<10; i++ {
		fmt.Fprintf(&page, "<p class=\"row\">Row %d of the catalogue: <a href=\"/item/%d\">item %d</a></p>\n", i, i*7, i)
	}
	page.WriteString("</body></html>\n")
	b.html = []byte(page.String())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b.html)
	zw.Close()
	b.gzipped = gz.Bytes()
	b.small = bytes.Repeat([]byte("s"), 100)
	b.part1 = bytes.Repeat([]byte("<p>first chunk</p>\n"), 20)
	b.part2 = bytes.Repeat([]byte("<p>second chunk</p>\n"), 20)

	fixed := func(ctype string, body []byte, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Add(hdr[i], hdr[i+1])
			}
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/html", fixed("text/html; charset=utf-8", b.html, "ETag", `"v1"`, "Accept-Ranges", "bytes", "Vary", "Origin"))
	mux.Handle("/json", fixed("application/json", b.html))
	mux.Handle("/png", fixed("image/png", b.html))
	mux.Handle("/small", fixed("text/html", b.small))
	mux.Handle("/gz", fixed("text/html", b.gzipped, "Content-Encoding", "gzip"))
	mux.Handle("/sse", fixed("text/event-stream", b.html))
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/304", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/206", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-999/%d", len(b.html)))
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b.html[:1000])
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(b.part1)
		http.NewResponseController(w).Flush()
		select {
		case <-b.release:
		case <-time.After(5 * time.Second):
		}
		w.Write(b.part2)
		b.finished.Store(true)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b.addr = ln.Addr().String()
	return b
}

// decode undoes Content-Encoding with decoders independent of moat's
// encoders where Go has one (compress/gzip); brotli with the reference
// port.
func decode(t *testing.T, ce string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch ce {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", ce)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", ce, err)
	}
	return out
}

// fetch sends method url with headers and reads the whole body.
func fetch(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	rq, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		rq.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, body
}

func varyHasAE(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// TestCompression: use-gzip and enable-brotli from the controller
// ConfigMap in file mode, over HTTPS (HTTP/1.1 and HTTP/2) and HTTP/1.0:
// bodies decoded and compared byte for byte, q-values, Vary, the minimum
// lengths, the type lists, already encoded bodies, statuses that are never
// compressed, HEAD, streaming, gzip-disable, and a bad value reported
// while everything keeps serving.
func TestCompression(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	be := startCompressionBackend(t)
	configMap := func(extra string) string {
		return `apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data:
  use-gzip: "true"
  enable-brotli: "true"
  gzip-disable: "OldBot/[0-9]"` + extra
	}
	writeFile(t, dir, "cm.yaml", configMap(""))
	writeFile(t, dir, "site.yaml", join(
		ca.secret(t, "default", "comp-tls", "comp.example", "ws.comp.example"),
		service("default", "comp", be.addr),
		ingress("default", "comp", "comp.example", "comp-tls", "/", "comp"),
		service("default", "ws", startEcho(t, "127.0.0.1:0", "ws")),
		ingress("default", "ws", "ws.comp.example", "comp-tls", "/", "ws"),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	h1 := m.client(ca.pool, false)
	h2 := m.client(ca.pool, true)
	const site = "https://comp.example"

	type want struct {
		ce   string // expected Content-Encoding
		vary bool   // Vary: Accept-Encoding expected
	}
	cases := []struct {
		name, path, ae string
		hdr            []string
		body           []byte
		want
	}{
		{"gzip", "/html", "gzip", nil, be.html, want{"gzip", true}},
		{"br preferred", "/html", "gzip, deflate, br", nil, be.html, want{"br", true}},
		{"br even at a lower q", "/html", "gzip;q=1, br;q=0.1", nil, be.html, want{"br", true}},
		{"br;q=0", "/html", "br;q=0, gzip", nil, be.html, want{"gzip", true}},
		{"gzip;q=0 and br;q=0", "/html", "gzip;q=0, br;q=0", nil, be.html, want{"", true}},
		{"identity only", "/html", "identity", nil, be.html, want{"", true}},
		{"star", "/html", "*", nil, be.html, want{"", true}},
		{"no Accept-Encoding", "/html", "", nil, be.html, want{"", true}},
		{"json in the lists", "/json", "br", nil, be.html, want{"br", true}},
		{"png not in the lists", "/png", "gzip, br", nil, be.html, want{"", false}},
		{"event stream not in the lists", "/sse", "gzip, br", nil, be.html, want{"", false}},
		{"already gzipped", "/gz", "gzip, br", nil, be.html, want{"gzip", false}},
		// Eligible for brotli (brotli-min-length 20), so Vary all the same.
		{"below gzip-min-length", "/small", "gzip", nil, be.small, want{"", true}},
		{"above brotli-min-length", "/small", "br", nil, be.small, want{"br", true}},
		{"gzip-disable", "/html", "gzip", []string{"User-Agent", "OldBot/2"}, be.html, want{"", true}},
		{"gzip-disable spares brotli", "/html", "gzip, br", []string{"User-Agent", "oldbot/2"}, be.html, want{"br", true}},
		{"206", "/206", "gzip, br", []string{"Range", "bytes=0-999"}, be.html[:1000], want{"", false}},
	}
	for _, c := range cases {
		for proto, cl := range map[string]*http.Client{"HTTP/1.1": h1, "HTTP/2": h2} {
			hdr := append([]string{"Accept-Encoding", c.ae}, c.hdr...)
			resp, raw := fetch(t, cl, "GET", site+c.path, hdr...)
			ce := resp.Header.Get("Content-Encoding")
			if resp.StatusCode/100 != 2 || ce != c.ce || varyHasAE(resp.Header) != c.vary {
				t.Errorf("%s %s: status %d, Content-Encoding %q (want %q), Vary %q (want Accept-Encoding: %v)",
					proto, c.name, resp.StatusCode, ce, c.ce, resp.Header.Values("Vary"), c.vary)
				continue
			}
			if got := decode(t, ce, raw); !bytes.Equal(got, c.body) {
				t.Errorf("%s %s: decoded body differs (%d bytes, want %d)", proto, c.name, len(got), len(c.body))
			}
			if c.path == "/gz" && !bytes.Equal(raw, be.gzipped) {
				t.Errorf("%s %s: the backend's gzip body was changed", proto, c.name)
			}
			if c.ce != "" && c.path != "/gz" {
				// Content-Length is the upstream's no more; net/http may
				// set the compressed one.
				if resp.ContentLength != -1 && resp.ContentLength != int64(len(raw)) {
					t.Errorf("%s %s: Content-Length %d for %d compressed bytes", proto, c.name, resp.ContentLength, len(raw))
				}
				if len(raw) >= len(c.body) {
					t.Errorf("%s %s: %d bytes compressed to %d", proto, c.name, len(c.body), len(raw))
				}
			}
		}
	}

	// The strong ETag turns weak, Accept-Ranges goes, the upstream's Vary
	// is kept beside Accept-Encoding.
	resp, _ := fetch(t, h1, "GET", site+"/html", "Accept-Encoding", "gzip")
	if resp.Header.Get("Etag") != `W/"v1"` || resp.Header.Get("Accept-Ranges") != "" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("compressed headers: ETag %q, Accept-Ranges %q, Vary %q", resp.Header.Get("Etag"), resp.Header.Get("Accept-Ranges"), resp.Header.Values("Vary"))
	}
	resp, _ = fetch(t, h1, "GET", site+"/html", "Accept-Encoding", "identity")
	if resp.Header.Get("Etag") != `"v1"` || resp.Header.Get("Accept-Ranges") != "bytes" || resp.ContentLength != int64(len(be.html)) {
		t.Errorf("uncompressed headers: ETag %q, Accept-Ranges %q, Content-Length %d", resp.Header.Get("Etag"), resp.Header.Get("Accept-Ranges"), resp.ContentLength)
	}

	// HEAD gets a GET's headers and no body (nginx's filters run before
	// the response is marked header-only); 204 and 304 are never touched.
	resp, raw := fetch(t, h1, "HEAD", site+"/html", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !varyHasAE(resp.Header) || len(raw) != 0 || resp.Header.Get("Content-Length") != "" {
		t.Errorf("HEAD: %d %v body %d bytes", resp.StatusCode, resp.Header, len(raw))
	}
	for _, p := range []string{"/204", "/304"} {
		resp, raw := fetch(t, h1, "GET", site+p, "Accept-Encoding", "gzip, br")
		if resp.Header.Get("Content-Encoding") != "" || varyHasAE(resp.Header) || len(raw) != 0 {
			t.Errorf("%s: %d %v body %d bytes", p, resp.StatusCode, resp.Header, len(raw))
		}
		if p == "/304" && resp.Header.Get("Etag") != `"v1"` {
			t.Errorf("304: ETag %q", resp.Header.Get("Etag"))
		}
	}

	// HTTP/1.0: no gzip (gzip_http_version 1.1), brotli still (ngx_brotli
	// has no such check).
	for ae, wantCE := range map[string]string{"gzip": "", "gzip, br": "br"} {
		conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: "comp.example", RootCAs: ca.pool})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /html HTTP/1.0\r\nHost: comp.example\r\nAccept-Encoding: %s\r\n\r\n", ae)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		conn.Close()
		if err != nil {
			t.Fatalf("HTTP/1.0 %q: %v", ae, err)
		}
		ce := resp.Header.Get("Content-Encoding")
		if ce != wantCE || !bytes.Equal(decode(t, ce, raw), be.html) {
			t.Errorf("HTTP/1.0 %q: Content-Encoding %q, want %q", ae, ce, wantCE)
		}
	}

	// A stream still streams: the first chunk arrives, decoded, while the
	// backend waits to send the second.
	for _, ae := range []string{"gzip", "br"} {
		be.release = make(chan struct{})
		be.finished.Store(false)
		rq, _ := http.NewRequest("GET", site+"/stream", nil)
		rq.Header.Set("Accept-Encoding", ae)
		resp, err := h1.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != ae {
			t.Fatalf("stream %s: Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
		var zr io.Reader
		if ae == "gzip" {
			if zr, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		} else {
			zr = brotli.NewReader(resp.Body)
		}
		first := make([]byte, len(be.part1))
		if _, err := io.ReadFull(zr, first); err != nil || !bytes.Equal(first, be.part1) {
			t.Fatalf("stream %s: first chunk: %v", ae, err)
		}
		if be.finished.Load() {
			t.Errorf("stream %s: the first chunk arrived only after the backend finished", ae)
		}
		close(be.release)
		rest, err := io.ReadAll(zr)
		resp.Body.Close()
		if err != nil || !bytes.Equal(rest, be.part2) {
			t.Errorf("stream %s: rest: %v (%d bytes)", ae, err, len(rest))
		}
	}

	// A WebSocket upgrade asking for compression is left alone.
	wsEcho(t, m, ca, "ws.comp.example")

	// A malformed media type: diagnostic naming the key; the default list
	// applies and everything keeps serving.
	writeFile(t, dir, "cm.yaml", configMap("\n  gzip-types: \"text/* application/json\"\n  gzip-level: \"9\""))
	eventually(t, 5*time.Second, "the gzip-types diagnostic", func() bool {
		d := m.diagnostics(t)
		return strings.Contains(d, "ConfigMapInvalidValue") && strings.Contains(d, "gzip-types") && strings.Contains(d, "text/*")
	})
	resp, raw = fetch(t, h1, "GET", site+"/json", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(decode(t, "gzip", raw), be.html) {
		t.Errorf("after a bad gzip-types: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}

	// Compression off again: nothing compressed, no Vary.
	writeFile(t, dir, "cm.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data: {}`)
	eventually(t, 5*time.Second, "compression off", func() bool {
		resp, _ := fetch(t, h1, "GET", site+"/html", "Accept-Encoding", "gzip, br")
		return resp.Header.Get("Content-Encoding") == "" && !varyHasAE(resp.Header)
	})
}

// wsEcho upgrades a connection to host's WebSocket echo, offering gzip and
// br, and checks that one text frame comes back unchanged.
func wsEcho(t *testing.T, m *moat, ca *testCA, host string) {
	t.Helper()
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{ServerName: host, RootCAs: ca.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAccept-Encoding: gzip, br\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Content-Encoding") != "" || varyHasAE(resp.Header) {
		t.Fatalf("WebSocket upgrade: %d %v", resp.StatusCode, resp.Header)
	}
	frame := []byte{0x81, 0x85, 1, 2, 3, 4} // masked text frame "hello" (RFC 6455 §5.2)
	for i, b := range []byte("hello") {
		frame = append(frame, b^frame[2+i%4])
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 7)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "\x81\x05hello" {
		t.Fatalf("WebSocket echo: %q %v", got, err)
	}
}
