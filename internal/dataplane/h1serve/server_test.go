package h1serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts s on a loopback listener and returns its address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func handlerServer(h http.Handler) *Server {
	return &Server{Handler: func(net.Conn) http.Handler { return h }, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
}

// exchange sends raw to addr and reads one response per request method
// in methods.
func exchange(t *testing.T, addr, raw string, methods ...string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("reading response %d to %q: %v", len(out)+1, raw, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading body %d: %v", len(out)+1, err)
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		out = append(out, resp)
	}
	return out
}

func bodyOf(t *testing.T, r *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// testHandler answers by path, covering the framing cases.
func testHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/large", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", 10000))
	})
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "6000")
		io.WriteString(w, strings.Repeat("y", 6000))
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", `"a"`)
		w.WriteHeader(http.StatusNotModified)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s host=%s cl=%d te=%v body=%q trailer=%v", r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, b, r.Trailer)
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "one ")
		w.(http.Flusher).Flush()
		io.WriteString(w, "two")
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "data")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	})
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "final")
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/split", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Injected", "a\r\nSet-Cookie: evil=1")
		io.WriteString(w, "ok")
	})
	return mux
}

// TestDifferentialNetHTTP sends the same raw requests to net/http's
// server and to this one with the same handler: status, headers (but
// Date) and body must match, except where this server answers as nginx
// does (listed in the test).
func TestDifferentialNetHTTP(t *testing.T) {
	h := testHandler()
	ours := serve(t, handlerServer(h))
	ref := httptest.NewServer(h)
	defer ref.Close()
	refAddr := ref.Listener.Addr().String()
	// Where this server answers as nginx does, only the status is
	// compared: its error bodies are moat's ("400 Bad Request\n") with a
	// Content-Length, net/http's carry the reason and end with the
	// connection.
	statusOnly := map[string]bool{"missing host": true}
	cases := []struct {
		name, raw string
		methods   []string
	}{
		{"small", "GET /small HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"large chunked", "GET /large HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"declared length", "GET /declared HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"head small", "HEAD /small HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HEAD"}},
		{"head declared", "HEAD /declared HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HEAD"}},
		{"204", "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"304", "GET /notmodified HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"post length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", []string{"POST"}},
		{"post chunked with trailer", "POST /echo HTTP/1.1\r\nHost: a\r\nTrailer: X-T\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: v\r\n\r\n", []string{"POST"}},
		{"absolute form", "GET http://b.example/echo?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"pipelined", "GET /small HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /large HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET", "POST", "GET"}},
		{"flush", "GET /flush HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"trailers", "GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"early hints", "GET /hints HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"handler closes", "GET /close HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"client closes", "GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []string{"GET"}},
		{"http/1.0", "GET /small HTTP/1.0\r\n\r\n", []string{"GET"}},
		{"http/1.0 keep-alive", "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET", "GET"}},
		{"http/1.0 large", "GET /large HTTP/1.0\r\n\r\n", []string{"GET"}},
		{"unread body is drained", "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /small HTTP/1.1\r\nHost: a\r\n\r\n", []string{"POST", "GET"}},
		{"expect continue", "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", []string{"POST"}},
		{"missing host", "GET /small HTTP/1.1\r\n\r\n", []string{"GET"}},
		{"header splitting", "GET /split HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
		{"404", "GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := exchange(t, refAddr, tc.raw, tc.methods...)
			got := exchange(t, ours, tc.raw, tc.methods...)
			for i := range want {
				w, g := want[i], got[i]
				if g.StatusCode != w.StatusCode {
					t.Errorf("response %d: status %d, net/http %d", i, g.StatusCode, w.StatusCode)
				}
				if statusOnly[tc.name] {
					continue
				}
				if gb, wb := bodyOf(t, g), bodyOf(t, w); gb != wb {
					t.Errorf("response %d: body %q, net/http %q", i, gb, wb)
				}
				for _, hdr := range []http.Header{g.Header, w.Header} {
					hdr.Del("Date")
					// nginx sends a 1.0 client "HTTP/1.1" and no
					// keep-alive echo when closing; both are framing.
					hdr.Del("Connection")
				}
				if !equalHeader(g.Header, w.Header) {
					t.Errorf("response %d: header %v, net/http %v", i, g.Header, w.Header)
				}
				if !equalHeader(g.Trailer, w.Trailer) {
					t.Errorf("response %d: trailer %v, net/http %v", i, g.Trailer, w.Trailer)
				}
				if g.ContentLength != w.ContentLength || !slices.Equal(g.TransferEncoding, w.TransferEncoding) {
					t.Errorf("response %d: framing CL %d TE %v, net/http CL %d TE %v", i, g.ContentLength, g.TransferEncoding, w.ContentLength, w.TransferEncoding)
				}
				if g.Close != w.Close {
					t.Errorf("response %d: close %v, net/http %v", i, g.Close, w.Close)
				}
			}
		})
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestBadRequestsClose: a refused head gets its status and the
// connection closes, before any handler runs.
func TestBadRequestsClose(t *testing.T) {
	var calls atomic.Int32
	addr := serve(t, handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })))
	for _, raw := range []string{
		"GET /x HTTP/1.1\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if resp.StatusCode < 400 || !resp.Close {
			t.Errorf("%q: status %d close %v, want an error that closes", raw, resp.StatusCode, resp.Close)
		}
		c.Close()
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("handler ran %d times for refused requests", n)
	}
}

// TestClientGoneCancels: a request waiting on its handler sees its
// context end when the client closes the connection.
func TestClientGoneCancels(t *testing.T) {
	canceled := make(chan error, 1)
	addr := serve(t, handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			canceled <- r.Context().Err()
		case <-time.After(10 * time.Second):
			canceled <- nil
		}
	})))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(3 * bgReadDelay)
	c.Close()
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v, want canceled after the client left", err)
	}
}

// TestShutdownDrains: idle connections close at once, a request in
// flight finishes with Connection: close, and Shutdown returns after it.
func TestShutdownDrains(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	s := handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "done")
	}))
	addr := serve(t, s)
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_ = idle.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ibr := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(ibr, nil); err != nil {
		t.Fatal(err)
	} else if b := bodyOf(t, resp); b != "done" {
		t.Fatalf("first response %q", b)
	}
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_ = busy.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-arrived
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// The idle connection is closed by the server.
	if _, err := ibr.ReadByte(); err == nil {
		t.Error("idle connection still open after Shutdown began")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyOf(t, resp); b != "done" || !resp.Close {
		t.Errorf("in-flight response %q close=%v, want done with Connection: close", b, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestHijack: an upgraded connection belongs to the handler, with the
// bytes the client sent after the head; Shutdown does not wait for it
// and Close does not close it.
func TestHijack(t *testing.T) {
	s := handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}))
	addr := serve(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhi\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if line, err := br.ReadString('\n'); line != "echo: hi\n" {
		t.Errorf("after the upgrade: %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown waited for the upgraded connection: %v", err)
	}
	s.Close()
	io.WriteString(c, "still\n")
	if line, err := br.ReadString('\n'); line != "echo: still\n" {
		t.Errorf("after Shutdown and Close: %q %v", line, err)
	}
}

// TestPanicRecovered: a panicking handler ends its connection, not the
// server.
func TestPanicRecovered(t *testing.T) {
	addr := serve(t, handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		io.WriteString(w, "ok")
	})))
	c := &http.Client{Timeout: 5 * time.Second}
	if _, err := c.Get("http://" + addr + "/panic"); err == nil {
		t.Error("a panicking handler produced a response")
	}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyOf(t, resp); b != "ok" {
		t.Errorf("after a panic: %q", b)
	}
}

// TestHTTP2 serves HTTP/2 by ALPN over TLS and with prior knowledge in
// clear text, each connection with its own handler.
func TestHTTP2(t *testing.T) {
	var conns atomic.Int32
	s := &Server{
		Handler: func(nc net.Conn) http.Handler {
			n := conns.Add(1)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s conn=%d tls=%v", r.Proto, n, r.TLS != nil)
			})
		},
		HTTP2: &http.HTTP2Config{},
		H2C:   true,
	}
	addr := serve(t, s)
	// h2c with prior knowledge.
	var prior http.Protocols
	prior.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &prior}, Timeout: 5 * time.Second}
	for range 2 {
		resp, err := h2c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		if b := bodyOf(t, resp); b != "HTTP/2.0 conn=1 tls=false" {
			t.Errorf("h2c: %q", b)
		}
	}
	// HTTP/1.1 on the same listener still works.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	if b := bodyOf(t, resp); b != "HTTP/1.1 conn=2 tls=false" {
		t.Errorf("HTTP/1.1 beside h2c: %q", b)
	}

	// TLS with ALPN.
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := cert.TLS.Clone()
	cert.Close()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &Server{Handler: s.Handler, HTTP2: &http.HTTP2Config{}}
	go ts.Serve(ln)
	defer ts.Close()
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		if b := bodyOf(t, resp); !strings.HasPrefix(b, want+" ") || !strings.HasSuffix(b, "tls=true") {
			t.Errorf("TLS h2=%v: %q", h2, b)
		}
		tr.CloseIdleConnections()
	}
}

// TestShutdownClosesUnusedConnection: a connection that never sends a
// request (a client pool's spare) does not hold Shutdown past the grace
// for new connections.
func TestShutdownClosesUnusedConnection(t *testing.T) {
	s := handlerServer(http.NotFoundHandler())
	s.NewConnGrace = 50 * time.Millisecond
	s.ReadHeaderTimeout = time.Hour
	addr := serve(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an unused connection open: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the unused connection is still open")
	}
}

// TestEarlyAnswerToLargeUpload: an answer given before a large request
// body is read (a 413) reaches the client, which is still sending, and
// the connection closes without a reset cutting it off.
func TestEarlyAnswerToLargeUpload(t *testing.T) {
	addr := serve(t, handlerServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})))
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 10 {
		resp, err := c.Post("http://"+addr+"/", "application/octet-stream", strings.NewReader(strings.Repeat("x", 4<<20)))
		if err != nil {
			t.Fatalf("upload %d: %v, want the 413", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Fatalf("upload %d: %d close=%v, want 413 and Connection: close", i, resp.StatusCode, resp.Close)
		}
	}
}
