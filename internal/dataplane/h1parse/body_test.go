package h1parse

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Close reads the rest of the body so that the next request parses, as with
// http.ReadRequest; reading after Close fails.
func TestCloseDrains(t *testing.T) {
	for _, tc := range []struct{ name, first string }{
		{"content-length", "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
		{"chunked", "POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.first + "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"))
			req, err := ReadRequest(br, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2)
			if _, err := io.ReadFull(req.Body, buf); err != nil || string(buf) != "he" {
				t.Fatalf("read %q, %v", buf, err)
			}
			if err := req.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := req.Body.Read(buf); err != http.ErrBodyReadAfterClose {
				t.Fatalf("read after close: %v", err)
			}
			next, err := ReadRequest(br, Limits{})
			if err != nil || next.RequestURI != "/2" {
				t.Fatalf("next request: %v %v", next, err)
			}
		})
	}
}

// Close reports a framing violation it finds while draining.
func TestCloseReportsFramingError(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n"))
	req, err := ReadRequest(br, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := req.Body.Close(); !errors.As(err, &e) || e.Status != 400 {
		t.Fatalf("got %v", err)
	}
}

// A chunk's data is returned without waiting for the next chunk's header, so
// a streaming client is proxied as it sends. If Read waited, the writer below
// would never send the rest and the test would hang.
func TestChunkedStreams(t *testing.T) {
	pr, pw := io.Pipe()
	go io.WriteString(pw, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	req, err := ReadRequest(bufio.NewReader(pr), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := req.Body.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
	go func() {
		io.WriteString(pw, "3\r\nabc\r\n0\r\n\r\n")
		pw.Close()
	}()
	rest, err := io.ReadAll(req.Body)
	if err != nil || string(rest) != "abc" {
		t.Fatalf("got %q, %v", rest, err)
	}
}

// The connection ending inside a body is io.ErrUnexpectedEOF, not a framing error.
func TestBodyUnexpectedEOF(t *testing.T) {
	for _, raw := range []string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
	} {
		if _, err := readOne(raw, Limits{}); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: got %v", raw, err)
		}
	}
}
