package h1serve

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// browserRequest is a typical request head (12 fields).
const browserRequest = "GET /static/app.js?v=3 HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-GB,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://shop.example.com/\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=5f2b8c0e9a; theme=dark\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Priority: u=2\r\n\r\n"

// benchServe measures keep-alive requests over one loopback connection to
// the server serve starts; the client reads each response's head and its
// Content-Length body with as little work as it can, so that the
// difference between two runs is the servers'.
func benchServe(b *testing.B, serve func(net.Listener)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go serve(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte(browserRequest)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if n < 0 {
			b.Fatal("response without Content-Length")
		}
		if _, err := br.Discard(n); err != nil {
			b.Fatal(err)
		}
	}
}

// page is what the benchmark handler answers, with the headers a proxied
// response carries.
func benchHandler() http.Handler {
	body := bytes.Repeat([]byte("x"), 1024)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/javascript"}
		h["Cache-Control"] = []string{"max-age=3600"}
		h["Etag"] = []string{`"abc123"`}
		h["Content-Length"] = []string{"1024"}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// BenchmarkServer compares this server with net/http's on the same
// handler and requests (run both; report the ratio).
func BenchmarkServer(b *testing.B) {
	h := benchHandler()
	b.Run("h1serve", func(b *testing.B) {
		s := &Server{Handler: func(net.Conn) http.Handler { return h }, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
		defer s.Close()
		benchServe(b, func(ln net.Listener) { s.Serve(ln) })
	})
	b.Run("net-http", func(b *testing.B) {
		s := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute}
		defer s.Close()
		benchServe(b, func(ln net.Listener) { s.Serve(ln) })
	})
}
