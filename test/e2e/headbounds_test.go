package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawStatus sends one request head to addr and returns the status of
// the answer and whether the connection is closed after it.
func rawStatus(t *testing.T, addr, head string) (int, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a %d-byte head: %v", len(head), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Close
}

func headWith(path string, fields ...string) string {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: bounds.example\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestLargeClientHeaderBuffers: request heads are bounded as nginx
// bounds them with large-client-header-buffers: 414 for a request line
// longer than one buffer, 400 for a header line longer than one buffer
// or a head longer than all of them, and the connection closes; the
// ConfigMap key moves the bounds.
func TestLargeClientHeaderBuffers(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	docs := []string{service("default", "app", appAddr), ingress("default", "bounds", "bounds.example", "", "/", "app")}
	cookie := func(n int) string { return "Cookie: c=" + strings.Repeat("a", n) }

	m := startWithConfigMap(t, map[string]string{}, docs...)
	for _, tc := range []struct {
		name   string
		head   string
		status int
	}{
		{"7 KiB header line", headWith("/", cookie(7<<10)), 200},
		{"9 KiB header line", headWith("/", cookie(9<<10)), 400},
		{"9 KiB request line", headWith("/" + strings.Repeat("p", 9<<10)), 414},
		{"five 7 KiB lines, 35 KiB head", headWith("/", cookie(7<<10), "X-A: "+strings.Repeat("b", 7<<10), "X-B: "+strings.Repeat("c", 7<<10), "X-C: "+strings.Repeat("d", 7<<10), "X-D: "+strings.Repeat("e", 7<<10)), 400},
	} {
		status, closed := rawStatus(t, m.addrs.HTTP, tc.head)
		if status != tc.status {
			t.Errorf("default 4 8k, %s: %d, want %d", tc.name, status, tc.status)
		}
		if tc.status != 200 && !closed {
			t.Errorf("default 4 8k, %s: the connection stays open after %d", tc.name, status)
		}
	}

	m = startWithConfigMap(t, map[string]string{"large-client-header-buffers": "2 16k"}, docs...)
	for _, tc := range []struct {
		name   string
		head   string
		status int
	}{
		{"9 KiB header line", headWith("/", cookie(9<<10)), 200},
		{"9 KiB request line", headWith("/" + strings.Repeat("p", 9<<10)), 200},
		{"17 KiB header line", headWith("/", cookie(17<<10)), 400},
		{"three 12 KiB lines, 36 KiB head", headWith("/", cookie(12<<10), "X-A: "+strings.Repeat("b", 12<<10), "X-B: "+strings.Repeat("c", 12<<10)), 400},
	} {
		if status, _ := rawStatus(t, m.addrs.HTTP, tc.head); status != tc.status {
			t.Errorf("2 16k, %s: %d, want %d", tc.name, status, tc.status)
		}
	}
}
