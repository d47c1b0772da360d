package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// smuggled is a request hidden after a probe's first message; it must
// never reach the backend.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"

// TestSmugglingCorpus sends request-smuggling and malformed-request probes
// over plain HTTP and HTTPS and checks, against a backend that records
// every byte it receives, that nothing hidden in a probe reaches it, and
// that each probe gets one answer with the status listed: nginx's (moat's
// request parser, h1parse, refuses what nginx refuses), or moat's where
// the two differ (nginx in the comment).
func TestSmugglingCorpus(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{})
	h := "Host: " + host + "\r\n"
	probes := []struct {
		name string
		raw  string
		want int
		// closes: moat must close the connection after the one answer.
		closes bool
	}{
		// Both framings: 400, as nginx.
		{"CL+TE", "POST /a HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400, true},
		{"TE+CL", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled, 400, true},
		// A chunked request closes its connection after the answer (nginx
		// keeps it): what follows the last chunk is never read.
		{"chunked then request", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled, 200, true},
		{"two different Content-Length", "POST /a HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + smuggled, 400, true},
		// A duplicate header line, equal or not: 400, as nginx.
		{"two equal Content-Length", "POST /a HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 400, true},
		{"Content-Length not a number", "POST /a HTTP/1.1\r\n" + h + "Content-Length: 3x\r\n\r\nabc" + smuggled, 400, true},
		{"Content-Length negative", "POST /a HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n" + smuggled, 400, true},
		{"Content-Length with plus", "POST /a HTTP/1.1\r\n" + h + "Content-Length: +3\r\n\r\nabc" + smuggled, 400, true},
		{"bad chunk size", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + smuggled, 400, true},
		{"chunk size overflow", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n" + smuggled, 400, true},
		{"chunk without CRLF", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n" + smuggled, 400, true},
		{"Transfer-Encoding not chunked", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, 501, true},
		{"Transfer-Encoding list", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 501, true},
		{"two Transfer-Encoding", "POST /a HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400, true},
		// A folded header line and a bare LF: 400, as nginx.
		{"obs-fold", "GET /a HTTP/1.1\r\n" + h + "X-A: a\r\n b\r\nConnection: close\r\n\r\n", 400, true},
		{"obs-fold Transfer-Encoding", "POST /a HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, 400, true},
		{"bare LF", "GET /a HTTP/1.1\n" + h[:len(h)-2] + "\nConnection: close\n\n", 400, true},
		{"NUL in header value", "GET /a HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n" + smuggled, 400, true},
		// nginx accepts other control bytes in a value; moat refuses.
		{"control byte in header value", "GET /a HTTP/1.1\r\n" + h + "X-A: a\x01b\r\n\r\n" + smuggled, 400, true},
		{"NUL in request line", "GET /a\x00b HTTP/1.1\r\n" + h + "\r\n" + smuggled, 400, true},
		{"%00 in path", "GET /a%00b HTTP/1.1\r\n" + h + "\r\n" + smuggled, 400, true},
		// nginx ignores a header with an invalid name
		// (ignore_invalid_headers); moat refuses the request.
		{"invalid header name", "GET /a HTTP/1.1\r\n" + h + "Bad@Name: x\r\n\r\n" + smuggled, 400, true},
		{"space before colon", "GET /a HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, 400, true},
	}
	for _, https := range []bool{false, true} {
		for _, p := range probes {
			name := map[bool]string{false: "http/", true: "https/"}[https] + p.name
			t.Run(name, func(t *testing.T) {
				c := m.dial(t, https)
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.WriteString(c, p.raw); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				var statuses []int
				for {
					res, err := http.ReadResponse(br, nil)
					if err != nil {
						if strings.Contains(err.Error(), "timeout") {
							t.Errorf("connection still open after %v (answers %v)", statuses, statuses)
						}
						break
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					statuses = append(statuses, res.StatusCode)
				}
				if len(statuses) != 1 || statuses[0] != p.want {
					t.Errorf("answers %v, want exactly [%d]", statuses, p.want)
				}
			})
		}
	}
	if raw := rec.raw(); strings.Contains(raw, "smuggled") || strings.Contains(raw, "\x00") {
		t.Errorf("the backend received smuggled bytes:\n%q", tail(raw, 2000))
	}
	for _, r := range rec.requests() {
		if strings.Contains(r, "smuggled") {
			t.Errorf("the backend served %q", r)
		}
	}
}

// TestControlBytesInPathNeverRaw: decoded control bytes other than NUL
// are passed on as nginx does, but always escaped in the request line,
// never as raw bytes that would break the backend's framing.
func TestControlBytesInPathNeverRaw(t *testing.T) {
	rec := newRecorder(t)
	m := start(t, rec.addr, setup{})
	for _, esc := range []string{"%01", "%0a", "%0d%0a", "%7f", "%1b"} {
		c := m.dial(t, false)
		fmt.Fprintf(c, "GET /p%sq HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", esc, host)
		if _, err := response(c, 5*time.Second); err != nil {
			t.Errorf("%s: %v", esc, err)
		}
	}
	for _, line := range strings.Split(rec.raw(), "\r\n") {
		if strings.HasPrefix(line, "GET /p") && strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("a control byte reached the backend raw: %q", line)
		}
	}
}
