package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestStreamingWithLengthIsNotBuffered: a response with a Content-Length
// (which ReverseProxy does not flush by itself) still reaches the client
// as the upstream sends it: the body flushes when the upstream makes it
// wait.
func TestStreamingWithLengthIsNotBuffered(t *testing.T) {
	next := make(chan struct{})
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "12")
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-time.After(10 * time.Second):
			return
		}
		io.WriteString(w, "later\n")
	}))
	defer stream.Close()
	cfg := config([]*routecfg.Pool{pool("s", addr(stream))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "s")}})
	f := newFixture(t, cfg, false)
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Host = "foo.com"
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != 12 {
		t.Errorf("Content-Length %d, want 12", resp.ContentLength)
	}
	br := bufio.NewReader(resp.Body)
	// The upstream sends the rest only once the first line has arrived:
	// if the proxy held it back, this read would wait for the
	// upstream's 10 s give-up and the next one would fail.
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(next)
	if line, err := br.ReadString('\n'); err != nil || line != "later\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
}

// writeCounter counts the writes on the connections a listener accepts.
type writeCounter struct {
	net.Listener
	writes atomic.Int64
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, n: &l.writes}, nil
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// TestSmallResponseOneWrite: a small response that the upstream sends at
// once leaves the proxy in one write, header and body together (no flush
// after the header).
func TestSmallResponseOneWrite(t *testing.T) {
	body := strings.Repeat("x", 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer up.Close()
	cfg := config([]*routecfg.Pool{pool("u", addr(up))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "u")}})
	f := newFixture(t, cfg, false)
	srv := httptest.NewUnstartedServer(f.h)
	lc := &writeCounter{Listener: srv.Listener}
	srv.Listener = lc
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", lc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range 3 {
		before := lc.writes.Load()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: foo.com\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != body {
			t.Fatalf("request %d: %d, %d bytes", i, resp.StatusCode, len(got))
		}
		if n := lc.writes.Load() - before; n != 1 {
			t.Errorf("request %d: response in %d writes, want 1", i, n)
		}
	}
}
