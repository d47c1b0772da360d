package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawHead serves one fixed response head of exactly n bytes (status line,
// headers, blank line) and an empty body to every connection: the size
// nginx's proxy_buffer_size is compared with.
func rawHead(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	head := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: "
	pad := n - len(head) - len("\r\n\r\n")
	head += strings.Repeat("p", pad) + "\r\n\r\n"
	if len(head) != n {
		t.Fatalf("head of %d bytes, want %d", len(head), n)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, head); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestProxyBufferSize: an upstream response head larger than
// proxy-buffer-size (default 4k) is answered 502, as nginx's "upstream sent
// too big header"; the annotation and the ConfigMap raise it.
func TestProxyBufferSize(t *testing.T) {
	at := rawHead(t, 4096)
	over := rawHead(t, 4097)
	big := rawHead(t, 12000)
	m := startWithConfigMap(t, map[string]string{"proxy-buffer-size": "8k"},
		service("default", "at", at),
		service("default", "over", over),
		service("default", "big", big),
		trafficIngress("at", "at.example", map[string]string{"proxy-buffer-size": "4k"}, "/", "at"),
		trafficIngress("over", "over.example", map[string]string{"proxy-buffer-size": "4k"}, "/", "over"),
		trafficIngress("cm", "cm.example", nil, "/", "over"),
		trafficIngress("big", "big.example", nil, "/", "big"),
		trafficIngress("bigok", "bigok.example", map[string]string{"proxy-buffer-size": "16k"}, "/", "big"),
	)
	c := m.client(nil, false)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"at.example", 200},
		{"over.example", 502},
		{"cm.example", 200},
		{"big.example", 502},
		{"bigok.example", 200},
	} {
		for _, method := range []string{"GET", "POST"} {
			var body io.Reader
			if method == "POST" {
				body = strings.NewReader("data")
			}
			if r := send(t, c, method, "http://"+tc.host+"/", nil, body); r.status != tc.want {
				t.Errorf("%s %s: %d, want %d", method, tc.host, r.status, tc.want)
			}
		}
	}
}

// TestProxyBufferingReadAhead: with proxy-buffering on the upstream's
// response is read whole (memory, then a temporary file) while the client
// has not read anything, so the upstream is done early, as nginx's
// buffering; the client then gets every byte.
func TestProxyBufferingReadAhead(t *testing.T) {
	const size = 24 << 20
	var done atomic.Int64
	up, _ := startHandler(t, "127.0.0.1:0", "big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := []byte(strings.Repeat("r", 64<<10))
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		done.Add(1)
	})
	dir := t.TempDir()
	writeFile(t, dir, "all.yaml", join(
		service("default", "big", up),
		trafficIngress("on", "on.example", map[string]string{"proxy-buffering": "on"}, "/", "big"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	resp, err := c.Get("http://on.example/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	eventually(t, 10*time.Second, "the upstream to finish while the client reads nothing", func() bool { return done.Load() == 1 })
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != size {
		t.Errorf("client got %d bytes, %v; want %d", n, err, size)
	}
}

// TestRequestBufferingWholeBody: with proxy-request-buffering on (the
// default) the upstream is contacted only once the whole body has arrived,
// however large (client-body-buffer-size in memory, the rest in a
// temporary file), and gets it with a Content-Length; off streams it.
func TestRequestBufferingWholeBody(t *testing.T) {
	var hits atomic.Int64
	up, _ := startHandler(t, "127.0.0.1:0", "sink", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Seen-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Seen-Bytes", strconv.FormatInt(n, 10))
	})
	dir := t.TempDir()
	writeFile(t, dir, "all.yaml", join(
		service("default", "sink", up),
		trafficIngress("on", "on.example", map[string]string{"proxy-body-size": "0"}, "/", "sink"),
		trafficIngress("off", "off.example", map[string]string{"proxy-body-size": "0", "proxy-request-buffering": "off"}, "/", "sink"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	const part = 3 << 20
	upload := func(host string, whileSending func()) result {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(strings.Repeat("a", part))) //nolint:errcheck // the reader reports failures
			whileSending()
			pw.Write([]byte(strings.Repeat("b", part))) //nolint:errcheck
			pw.Close()
		}()
		return send(t, c, "POST", "http://"+host+"/", nil, pr)
	}
	hits.Store(0)
	r := upload("on.example", func() {
		time.Sleep(300 * time.Millisecond)
		if n := hits.Load(); n != 0 {
			t.Errorf("buffered: the upstream was contacted before the body ended (%d)", n)
		}
	})
	if r.status != 200 || r.header.Get("X-Seen-Length") != strconv.Itoa(2*part) || r.header.Get("X-Seen-Bytes") != strconv.Itoa(2*part) {
		t.Errorf("buffered: %d, upstream saw Content-Length %q and %q bytes", r.status, r.header.Get("X-Seen-Length"), r.header.Get("X-Seen-Bytes"))
	}
	hits.Store(0)
	r = upload("off.example", func() {
		for deadline := time.Now().Add(5 * time.Second); hits.Load() == 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("streamed: the upstream was not contacted while the body was still coming")
				return
			}
		}
	})
	if r.status != 200 || r.header.Get("X-Seen-Length") != "-1" || r.header.Get("X-Seen-Bytes") != strconv.Itoa(2*part) {
		t.Errorf("streamed: %d, upstream saw Content-Length %q and %q bytes", r.status, r.header.Get("X-Seen-Length"), r.header.Get("X-Seen-Bytes"))
	}
}

// TestProxyMaxTempFileSize: with proxy-max-temp-file-size 0 (here from the
// ConfigMap) nginx reads ahead only into its memory buffers, so a large
// response keeps the upstream waiting for the client; the annotation's
// 1024m lets it finish first.
func TestProxyMaxTempFileSize(t *testing.T) {
	const size = 64 << 20
	var done [2]atomic.Int64
	handler := func(i int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			chunk := []byte(strings.Repeat("m", 64<<10))
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			done[i].Add(1)
		}
	}
	noFile, _ := startHandler(t, "127.0.0.1:0", "nofile", handler(0))
	withFile, _ := startHandler(t, "127.0.0.1:0", "withfile", handler(1))
	m := startWithConfigMap(t, map[string]string{"proxy-buffering": "on", "proxy-max-temp-file-size": "0", "proxy-buffers-number": "2"},
		service("default", "nofile", noFile),
		service("default", "withfile", withFile),
		trafficIngress("nofile", "nofile.example", nil, "/", "nofile"),
		trafficIngress("withfile", "withfile.example", map[string]string{"proxy-max-temp-file-size": "1024m"}, "/", "withfile"),
	)
	c := m.client(nil, false)
	open := func(host string) *http.Response {
		resp, err := c.Get("http://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	withResp := open("withfile.example")
	eventually(t, 10*time.Second, "the upstream to finish into the temporary file", func() bool { return done[1].Load() == 1 })
	noResp := open("nofile.example")
	time.Sleep(500 * time.Millisecond)
	if done[0].Load() != 0 {
		t.Errorf("proxy-max-temp-file-size 0: the upstream finished %d MiB while the client read nothing", size>>20)
	}
	for _, resp := range []*http.Response{withResp, noResp} {
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
			t.Errorf("%s: client got %d bytes, %v", resp.Request.URL.Host, n, err)
		}
	}
}
