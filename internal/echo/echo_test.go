package echo

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, c *http.Client, req *http.Request) (*http.Response, Response) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body Response
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestJSON(t *testing.T) {
	srv := httptest.NewServer(Handler("echo-a"))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/a%20b/c%2Fd?x=1&y=%20", strings.NewReader("payload"))
	req.Host = "foo.example.com"
	req.Header.Set("X-Test", "one")
	req.Header.Add("X-Test", "two")
	resp, body := get(t, srv.Client(), req)

	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := resp.Header.Get(NameHeader); got != "echo-a" {
		t.Errorf("%s = %q", NameHeader, got)
	}
	want := Response{
		Name:     "echo-a",
		Method:   "POST",
		Path:     "/a b/c/d", // decoded
		URI:      "/a%20b/c%2Fd?x=1&y=%20",
		RawQuery: "x=1&y=%20",
		Host:     "foo.example.com",
		TLS:      false,
		Proto:    "HTTP/1.1",
	}
	gotCmp := body
	gotCmp.Headers, gotCmp.RemoteAddr = nil, ""
	if !reflect.DeepEqual(gotCmp, want) {
		t.Errorf("got  %+v\nwant %+v", gotCmp, want)
	}
	if h := body.Headers["X-Test"]; len(h) != 2 || h[0] != "one" || h[1] != "two" {
		t.Errorf("X-Test = %q", h)
	}
	if h := body.Headers["Content-Length"]; len(h) != 1 || h[0] != "7" {
		t.Errorf("Content-Length = %q", h)
	}
	if host, _, err := net.SplitHostPort(body.RemoteAddr); err != nil || host != "127.0.0.1" {
		t.Errorf("RemoteAddr = %q", body.RemoteAddr)
	}
}

func TestJSONOverTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(Handler("echo-tls"))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	_, body := get(t, srv.Client(), req)
	if !body.TLS || body.Proto != "HTTP/2.0" || body.Path != "/" || body.URI != "/" {
		t.Errorf("got %+v", body)
	}
}

func readLines(t *testing.T, r io.Reader) []StreamLine {
	t.Helper()
	var out []StreamLine
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l StreamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStream(t *testing.T) {
	srv := httptest.NewServer(Handler("s"))
	defer srv.Close()
	for _, tc := range []struct {
		target string
		lines  int
	}{
		{"/stream?n=5", 5},
		{"/stream", defaultStreamLines},
		{"/app/stream?n=2&interval=1ms", 2}, // reachable behind a prefix route
		{"/stream?n=0", 0},
	} {
		resp, err := srv.Client().Get(srv.URL + tc.target)
		if err != nil {
			t.Fatal(err)
		}
		lines := readLines(t, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != tc.lines {
			t.Fatalf("%s: Content-Type %q, %d lines, want %d", tc.target, resp.Header.Get("Content-Type"), len(lines), tc.lines)
		}
		for i, l := range lines {
			if l.Name != "s" || l.Line != i+1 {
				t.Errorf("%s: line %d = %+v", tc.target, i, l)
			}
		}
	}
	for _, target := range []string{"/stream?n=x", "/stream?n=-1", "/stream?n=10001", "/stream?interval=1h", "/stream?interval=z"} {
		resp, err := srv.Client().Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", target, resp.StatusCode)
		}
	}
}

// TestStreamFlushes reads the first line while the handler waits out a
// long interval: it can only arrive if each line is flushed. Cancelling
// the request must then end the handler.
func TestStreamFlushes(t *testing.T) {
	done := make(chan struct{})
	h := Handler("s")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stream?n=3&interval=10s", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if !strings.Contains(line, `"line":1`) {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first line not flushed")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler kept streaming after the client went away")
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeListener(ctx, ln, "served", nil) }()

	url := "http://" + ln.Addr().String()
	resp, err := http.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	var body Response
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if body.Name != "served" || body.Path != "/x" {
		t.Fatalf("got %+v", body)
	}

	// An open WebSocket is told the server is going away (1001).
	ws := dialWS(t, ln.Addr().String(), "/ws")
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	f := ws.read(t)
	if f.op != opClose || string(f.payload) != string(closePayload(closeGoingAway)) {
		t.Errorf("got op %#x payload %x, want close 1001", f.op, f.payload)
	}
	if _, err := http.Get(url + "/x"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeBadAddr(t *testing.T) {
	if err := Serve(context.Background(), "127.0.0.1:bad", "x", nil); err == nil {
		t.Fatal("no error for a bad address")
	}
}
