package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
)

// rawUpstream is a loopback HTTP/1.1 server written by hand, so a test
// controls every byte of the answer and when connections close. It
// counts accepted connections and reports each one's end.
type rawUpstream struct {
	addr     string
	accepted atomic.Int32
	closed   chan struct{} // one value per connection that ended
}

// serveRaw starts a rawUpstream; answer writes the response to one
// request and returns false to close the connection after it.
func serveRaw(t *testing.T, answer func(w *bufio.Writer, req *http.Request, n int) bool) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{addr: ln.Addr().String(), closed: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var reqs atomic.Int32
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			wg.Go(func() {
				defer func() { c.Close(); u.closed <- struct{}{} }()
				br, bw := bufio.NewReader(c), bufio.NewWriter(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					keep := answer(bw, req, int(reqs.Add(1)))
					if bw.Flush() != nil || !keep {
						return
					}
				}
			})
		}
	})
	return u
}

func newH1(t *testing.T) *Transport {
	t.Helper()
	h := New(&http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, DisableCompression: true, MaxResponseHeaderBytes: 1 << 20}, 0)
	t.Cleanup(h.CloseIdleConnections)
	return h
}

// roundTrip sends a bodiless request and reads the whole answer.
func roundTrip(t *testing.T, h http.RoundTripper, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return res, string(body)
}

func ok(body string) func(*bufio.Writer, *http.Request, int) bool {
	return func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		return true
	}
}

func TestH1ReusesConnection(t *testing.T) {
	u := serveRaw(t, ok("hello"))
	h := newH1(t)
	for i := range 5 {
		res, body := roundTrip(t, h, "GET", "http://"+u.addr+"/")
		if res.StatusCode != 200 || body != "hello" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
	}
	if n := u.accepted.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1", n)
	}
}

func TestH1BodyFraming(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, req *http.Request, _ int) bool {
		switch req.URL.Path {
		case "/chunked":
			w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n")
		case "/length":
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world")
		case "/head":
			// A HEAD answer announces a length but carries no body.
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
		case "/204":
			w.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
		case "/304":
			w.WriteString("HTTP/1.1 304 Not Modified\r\nContent-Length: 11\r\n\r\n")
		}
		return true
	})
	h := newH1(t)
	base := "http://" + u.addr
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/chunked", "hello world"},
		{"GET", "/length", "hello world"},
		{"HEAD", "/head", ""},
		{"GET", "/204", ""},
		{"GET", "/304", ""},
		{"GET", "/chunked", "hello world"},
	} {
		res, body := roundTrip(t, h, tc.method, base+tc.path)
		if body != tc.body {
			t.Errorf("%s %s: body %q, want %q", tc.method, tc.path, body, tc.body)
		}
		if tc.path == "/chunked" && res.Trailer.Get("X-Trailer") != "t" {
			t.Errorf("chunked trailer: %v", res.Trailer)
		}
	}
	if n := u.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1: every framing leaves the connection reusable", n)
	}
}

// TestH1StaleIdleConnection: the upstream closes a connection after
// answering (as a keep-alive timeout does); the next GET finds it closed
// and must be sent again on a new connection, not fail.
func TestH1StaleIdleConnection(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false // close without saying so
	})
	h := newH1(t)
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	<-u.closed // the pooled connection is now closed by the upstream
	for i := range 3 {
		res, body := roundTrip(t, h, "GET", "http://"+u.addr+"/")
		if res.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d after the upstream closed: %d %q", i, res.StatusCode, body)
		}
		<-u.closed
	}
	if n := u.accepted.Load(); n != 4 {
		t.Errorf("%d connections, want 4 (one per request)", n)
	}
}

func TestH1ConnectionClose(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
		return true // the proxy must close it
	})
	h := newH1(t)
	res, _ := roundTrip(t, h, "GET", "http://"+u.addr+"/")
	if !res.Close {
		t.Error("Connection: close not reported")
	}
	<-u.closed // closed by the transport, the server kept it open
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestH1ExtraBytesNotReused: an upstream that sends more than it framed
// must not have the rest read as the next answer.
func TestH1ExtraBytesNotReused(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!")
		return true
	})
	h := newH1(t)
	for range 2 {
		if _, body := roundTrip(t, h, "GET", "http://"+u.addr+"/"); body != "ok" {
			t.Fatalf("body %q", body)
		}
	}
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestH1EarlyCloseClosesConnection: a body abandoned before its end is
// never drained into the pool; its connection closes.
func TestH1EarlyCloseClosesConnection(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, req *http.Request, _ int) bool {
		if req.URL.Path == "/big" {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
			w.WriteString(strings.Repeat("x", 1000))
			w.Flush()
			return true // the rest never comes
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	h := newH1(t)
	req, _ := http.NewRequest("GET", "http://"+u.addr+"/big", nil)
	res, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	<-u.closed // the server's read after the partial answer sees the close
	if _, body := roundTrip(t, h, "GET", "http://"+u.addr+"/"); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestH1InterimResponses(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	h := newH1(t)
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, hdr textproto.MIMEHeader) error {
		got = append(got, strconv.Itoa(code)+" "+hdr.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+u.addr+"/", nil)
	res, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("final answer %d %q", res.StatusCode, body)
	}
	if len(got) != 1 || got[0] != "103 </a.css>; rel=preload" {
		t.Errorf("interim answers %q", got)
	}
	// Without a trace the 1xx is skipped.
	if res, body := roundTrip(t, h, "GET", "http://"+u.addr+"/"); res.StatusCode != 200 || body != "ok" {
		t.Errorf("without trace: %d %q", res.StatusCode, body)
	}
	if n := u.accepted.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestH1ResponseHeaderLimit(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, _ int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 8000) + "\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	h := newH1(t)
	hook := &testHook{max: 4096}
	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+u.addr+"/", nil)
	if _, err := h.Exchange(req, hook); err == nil || !strings.Contains(err.Error(), "larger than 4096") {
		t.Errorf("8 KB header under a 4 KB limit: %v", err)
	}
	hook.max = 16 << 10
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+u.addr+"/", nil)
	res, err := h.Exchange(req, hook)
	if err != nil {
		t.Fatalf("8 KB header under a 16 KB limit: %v", err)
	}
	res.Body.Close()
}

// testHook is an Attempt.
type testHook struct {
	max    int64
	waits  atomic.Int32
	onWait func()
}

func (h *testHook) ConnectTimeout() time.Duration { return 0 }
func (h *testHook) Dialing()                      {}
func (h *testHook) Dialed()                       {}
func (h *testHook) MaxResponseHeaderBytes() int64 { return h.max }
func (h *testHook) ServerAddr() net.Addr          { return nil }
func (h *testHook) UpstreamWait() {
	h.waits.Add(1)
	if h.onWait != nil {
		h.onWait()
	}
}

// TestH1UpstreamWait: the hook is told when the body must wait for the
// upstream (so the proxy flushes what it has), and not when the whole
// answer is already there.
func TestH1UpstreamWait(t *testing.T) {
	more := make(chan struct{}, 1)
	u := serveRaw(t, func(w *bufio.Writer, req *http.Request, _ int) bool {
		if req.URL.Path == "/whole" {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nall!")
			return true
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst")
		w.Flush()
		select {
		case <-more:
		case <-time.After(10 * time.Second): // the test fails below
		}
		w.WriteString("-rest")
		return true
	})
	h := newH1(t)
	hook := &testHook{onWait: func() {
		select {
		case more <- struct{}{}:
		default:
		}
	}}
	ctx := context.Background()

	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+u.addr+"/whole", nil)
	res, err := h.Exchange(req, hook)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "all!" {
		t.Fatalf("body %q", b)
	}
	if n := hook.waits.Load(); n != 0 {
		t.Errorf("%d waits for an answer that came whole", n)
	}

	req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+u.addr+"/stream", nil)
	res, err = h.Exchange(req, hook)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if string(b) != "first-rest" {
		t.Fatalf("body %q", b)
	}
	if hook.waits.Load() == 0 {
		t.Error("no UpstreamWait before the body waited for the upstream")
	}
}

// TestH1ContextEndsBlockedRead: a read waiting for a silent upstream
// returns when the request's context ends (proxy-read-timeout and client
// aborts cancel it), and the connection is not reused.
func TestH1ContextEndsBlockedRead(t *testing.T) {
	release := make(chan struct{})
	u := serveRaw(t, func(w *bufio.Writer, req *http.Request, _ int) bool {
		if req.URL.Path == "/silent" {
			w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
			w.Flush()
			<-release
			return true
		}
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	h := newH1(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+u.addr+"/silent", nil)
	res, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("read timeout")
	readErr := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(res.Body)
		readErr <- err
	}()
	cancel(cause)
	if err := <-readErr; !errors.Is(err, cause) {
		t.Errorf("read after the context ended: %v, want its cause", err)
	}
	res.Body.Close()
	close(release)
	<-u.closed // the server's next read sees the connection closed
	if _, body := roundTrip(t, h, "GET", "http://"+u.addr+"/"); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// fallbackCounter records what Transport hands to its fallback.
type fallbackCounter struct {
	http.RoundTripper
	n atomic.Int32
}

func (f *fallbackCounter) CloseIdleConnections() {
	f.RoundTripper.(*http.Transport).CloseIdleConnections()
}

func (f *fallbackCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	f.n.Add(1)
	return f.RoundTripper.RoundTrip(r)
}

func TestH1Fallback(t *testing.T) {
	u := serveRaw(t, func(w *bufio.Writer, req *http.Request, _ int) bool {
		io.Copy(io.Discard, req.Body)
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	h := newH1(t)
	fb := &fallbackCounter{RoundTripper: h.fallback.RoundTripper}
	h.fallback = exchange.Std{RoundTripper: fb}
	post, _ := http.NewRequest("POST", "http://"+u.addr+"/", strings.NewReader("data"))
	upgrade, _ := http.NewRequest("GET", "http://"+u.addr+"/", nil)
	upgrade.Header.Set("Upgrade", "websocket")
	upgrade.Header.Set("Connection", "Upgrade")
	for _, req := range []*http.Request{post, upgrade} {
		res, err := h.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if n := fb.n.Load(); n != 2 {
		t.Errorf("fallback carried %d requests, want 2 (body, upgrade)", n)
	}
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	if n := fb.n.Load(); n != 2 {
		t.Error("a bodiless GET went to the fallback")
	}
}

func TestH1RefusesInvalidHeader(t *testing.T) {
	u := serveRaw(t, ok("ok"))
	h := newH1(t)
	req, _ := http.NewRequest("GET", "http://"+u.addr+"/", nil)
	req.Header["X-Bad"] = []string{"a\r\nInjected: yes"}
	if _, err := h.RoundTrip(req); err == nil {
		t.Error("header value with CRLF was sent")
	}
	if n := u.accepted.Load(); n != 0 {
		t.Errorf("%d connections for a refused request", n)
	}
}

// TestH1IdleSweep: idle connections past the idle timeout are closed by
// the sweep, and an endpoint without connections is forgotten.
func TestH1IdleSweep(t *testing.T) {
	u := serveRaw(t, ok("ok"))
	h := newH1(t)
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	h.mu.RLock()
	l := h.hosts[u.addr]
	h.mu.RUnlock()
	l.mu.Lock()
	if len(l.conns) != 1 || l.active != 0 {
		t.Fatalf("idle %d, active %d; want 1, 0", len(l.conns), l.active)
	}
	l.conns[0].idleAt = time.Now().Add(-h.idleTimeout)
	l.mu.Unlock()
	h.sweep()
	<-u.closed
	h.mu.RLock()
	_, kept := h.hosts[u.addr]
	h.mu.RUnlock()
	if kept {
		t.Error("endpoint without connections kept")
	}
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestH1UnsolicitedAnswerWhileIdle: bytes an upstream sends on an idle
// connection (a 408 at its keep-alive timeout) are never read as the
// answer to the next request.
func TestH1UnsolicitedAnswerWhileIdle(t *testing.T) {
	timeout := make(chan struct{})
	u := serveRaw(t, func(w *bufio.Writer, _ *http.Request, n int) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		if n == 1 {
			w.Flush()
			<-timeout
			w.WriteString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return false
		}
		return true
	})
	h := newH1(t)
	roundTrip(t, h, "GET", "http://"+u.addr+"/")
	close(timeout)
	<-u.closed // the 408 and the close are in the idle connection's socket
	h.mu.RLock()
	l := h.hosts[u.addr]
	h.mu.RUnlock()
	l.mu.Lock()
	l.conns[0].idleAt = time.Now().Add(-probeAfter) // idle long enough to be probed
	l.mu.Unlock()
	if res, body := roundTrip(t, h, "GET", "http://"+u.addr+"/"); res.StatusCode != 200 || body != "ok" {
		t.Fatalf("after an unsolicited 408: %d %q", res.StatusCode, body)
	}
	if n := u.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}
