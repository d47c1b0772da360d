package h1parse

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// readOne parses raw as one request and reads its body.
func readOne(raw string, lim Limits) (req *requestResult, err error) {
	br := bufio.NewReader(strings.NewReader(raw))
	r, err := ReadRequest(br, lim)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	return &requestResult{r.Method, body}, err
}

type requestResult struct {
	method string
	body   []byte
}

func TestReject(t *testing.T) {
	long := strings.Repeat("a", 9000)
	var manyHeaders strings.Builder
	for i := range 5 {
		manyHeaders.WriteString("X-H" + string(rune('0'+i)) + ": " + strings.Repeat("v", 7000) + "\r\n")
	}
	chunkedHead := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		// Content-Length and Transfer-Encoding.
		{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"te and cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
		{"duplicate cl equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
		{"duplicate cl differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400},
		{"cl list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", 400},
		{"cl plus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400},
		{"cl minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"cl inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", 400},
		{"cl hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\nx", 400},
		{"cl empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
		{"cl overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", 400},
		{"cl 20 digits", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00000000000000000001\r\n\r\nx", 400},
		// Transfer-Encoding.
		{"te gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"te gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"te identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501},
		{"te chunked chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501},
		{"te chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501},
		{"te two lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"te empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 501},
		{"te http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"te chunked-x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501},
		// Chunked framing (found while reading the body).
		{"chunk size non-hex", chunkedHead + "g\r\n", 400},
		{"chunk size overflow", chunkedHead + "1000000000000000\r\n", 400},
		{"chunk size empty", chunkedHead + "\r\nx\r\n0\r\n\r\n", 400},
		{"chunk size leading space", chunkedHead + " 1\r\nx\r\n0\r\n\r\n", 400},
		{"chunk size trailing space", chunkedHead + "1 \r\nx\r\n0\r\n\r\n", 400},
		{"chunk size junk", chunkedHead + "1x\r\nx\r\n0\r\n\r\n", 400},
		{"chunk size sign", chunkedHead + "+1\r\nx\r\n0\r\n\r\n", 400},
		{"chunk ext space before semicolon", chunkedHead + "1 ;a\r\nx\r\n0\r\n\r\n", 400},
		{"chunk ext empty name", chunkedHead + "1;\r\nx\r\n0\r\n\r\n", 400},
		{"chunk ext bad value", chunkedHead + "1;a=\r\nx\r\n0\r\n\r\n", 400},
		{"chunk ext unterminated quote", chunkedHead + "1;a=\"b\r\nx\r\n0\r\n\r\n", 400},
		{"chunk ext trailing space", chunkedHead + "1;a \r\nx\r\n0\r\n\r\n", 400},
		{"chunk data without crlf", chunkedHead + "1\r\nxy\r\n0\r\n\r\n", 400},
		{"chunk data bare lf", chunkedHead + "1\r\nx\n0\r\n\r\n", 400},
		{"chunk line bare lf", chunkedHead + "1\nx\r\n0\r\n\r\n", 400},
		{"last chunk bare lf", chunkedHead + "1\r\nx\r\n0\n\r\n", 400},
		{"chunk line bare cr", chunkedHead + "1\r;a\r\nx\r\n0\r\n\r\n", 400},
		{"trailer bare lf", chunkedHead + "0\r\nX-T: v\n\r\n", 400},
		{"trailer obs-fold", chunkedHead + "0\r\nX-T: v\r\n w\r\n\r\n", 400},
		{"trailer bad name", chunkedHead + "0\r\nX T: v\r\n\r\n", 400},
		{"declared trailer content-length", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"chunk framing overhead", chunkedHead + strings.Repeat("1;"+strings.Repeat("a", 4000)+"\r\nx\r\n", 6) + "0\r\n\r\n", 400},
		// Head framing.
		{"bare lf request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
		{"bare lf header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
		{"bare lf end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
		{"bare cr header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400},
		{"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400},
		{"first header folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
		{"header name space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"header name non-tchar", "GET / HTTP/1.1\r\nHost: a\r\nX(a): b\r\n\r\n", 400},
		{"header name utf-8", "GET / HTTP/1.1\r\nHost: a\r\nXé: b\r\n\r\n", 400},
		{"header name empty", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400},
		{"header no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", 400},
		{"header value nul", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", 400},
		{"header value ctl", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n", 400},
		{"header value del", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n", 400},
		// Request line.
		{"empty request line", "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"space before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
		{"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"ctl in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"no target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"version lower case", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"version no minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400},
		{"version two digits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
		{"version 2", "GET / HTTP/2\r\nHost: a\r\n\r\n", 400},
		{"no version", "GET /\r\nHost: a\r\n\r\n", 400},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"http/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505},
		{"http/0.9", "GET / HTTP/0.9\r\n\r\n", 400},
		// Host.
		{"missing host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400},
		{"missing host absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400},
		{"missing host connect", "CONNECT a:443 HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"invalid host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		// Limits.
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"request line too long unterminated", "GET /" + long, 414},
		{"header line too long", "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + long + "\r\n\r\n", 400},
		{"header line too long unterminated", "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + long, 400},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\n" + manyHeaders.String() + "\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readOne(tc.raw, Limits{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want *Error %d", err, tc.status)
			}
			if e.Status != tc.status {
				t.Fatalf("got %d %q, want %d", e.Status, e.Reason, tc.status)
			}
		})
	}
}

func TestLimitsSmall(t *testing.T) {
	lim := Limits{MaxLine: 20, MaxTotal: 40}
	for _, tc := range []struct {
		raw    string
		status int // 0: accepted
	}{
		{"GET /123456 HTTP/1.1\r\nHost: a\r\n\r\n", 0},             // request line of 20
		{"GET /1234567 HTTP/1.1\r\nHost: a\r\n\r\n", 414},          // 21
		{"GET / HTTP/1.1\r\nHost: 12345678901234\r\n\r\n", 0},      // header line of 20
		{"GET / HTTP/1.1\r\nHost: 123456789012345\r\n\r\n", 400},   // 21
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n", 0},    // head of 40
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 123456789\r\n\r\n", 400}, // 41
	} {
		_, err := readOne(tc.raw, lim)
		var e *Error
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%q: %v", tc.raw, err)
		case tc.status != 0 && (!errors.As(err, &e) || e.Status != tc.status):
			t.Errorf("%q: got %v, want %d", tc.raw, err, tc.status)
		}
	}
}
