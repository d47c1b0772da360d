// Package h1parse is moat's strict HTTP/1.1 (RFC 9112) request parser, a
// drop-in for net/http's http.ReadRequest in moat's own HTTP/1.1 server.
//
// It accepts a subset of what net/http accepts (FuzzReadRequest checks that)
// and yields the same *http.Request for it; everything that can make two
// parsers disagree about where a request ends is rejected, with the status
// nginx gives:
//
//   - Content-Length and Transfer-Encoding together: 400. net/http drops the
//     Content-Length and goes on; nginx (1.21.1+) rejects, and so do we:
//     an intermediary that forwards such a request is the smuggling vector.
//   - More than one Content-Length line, even with equal values (net/http
//     merges equal ones), and any Content-Length other than 1*DIGIT that fits
//     an int64: 400 (nginx: "duplicate header line", "invalid Content-Length").
//   - Transfer-Encoding: only a single "chunked" (any case). More than one
//     Transfer-Encoding line, or any Transfer-Encoding on HTTP/1.0: 400 (net/http
//     ignores it on 1.0 and frames by Content-Length). Any other value
//     ("gzip", "gzip, chunked", "chunked, chunked", empty): 501, as nginx
//     answers every value but a lone "chunked" (RFC 9112 section 6.3 would
//     have 400 for a chunked applied twice or not last; nginx decides).
//   - Bare LF anywhere in the head or the chunked framing, bare CR, obs-fold
//     (net/http unfolds it), header names that are not tokens (including a
//     space before the colon), header values with CTLs other than HT: 400.
//     (nginx, with ignore_invalid_headers on, drops a field whose name has
//     other bytes than letters, digits, '-' and '_' instead; token names such
//     as "X.Y" are accepted here, as by net/http, and left to the proxy.)
//   - Request line: exactly method SP request-target SP HTTP-version. A bad
//     line or version (also "HTTP/0.9", which nginx's parser refuses): 400; a
//     well-formed version 2.x to 9.x ("HTTP/2.0", "HTTP/3.0", also the HTTP/2
//     preface, which net/http lets through): 505, nginx's "unsupported HTTP
//     version". HTTP/1.x for any single digit x is taken, as by net/http and
//     nginx, with ProtoMinor x.
//   - No Host on HTTP/1.1 (also for CONNECT, which net/http exempts), or more
//     than one Host line: 400.
//   - A request line longer than Limits.MaxLine: 414; a header line longer
//     than MaxLine or a head longer than MaxTotal: 400 (nginx's
//     large_client_header_buffers: "Request Header Or Cookie Too Large").
//   - Chunk sizes: 1-15 hex digits (net/http allows 16), then CRLF or a
//     chunk-ext that follows the RFC grammar (net/http ignores whatever
//     follows ';'), then after the data exactly CRLF. Chunk lines and the
//     trailer section have net/http's bounds (4 KiB per chunk line, the
//     trailer section within the bufio.Reader's buffer, at most 16 KiB of
//     framing overhead beyond 16 bytes per chunk plus twice its data).
//
// Up to two empty lines (CRLF) before a request line are skipped, as RFC 9112
// section 2.2 recommends and nginx does; net/http's server skips them only
// after a POST.
//
// Bodies: Body.Read returns io.ErrUnexpectedEOF when the connection ends
// inside the body and an *Error (400) on a chunked framing violation. Like
// the body http.ReadRequest returns, Close reads the rest of the body (and the
// trailers) so that br is positioned at the next request; a later Read
// returns http.ErrBodyReadAfterClose.
package h1parse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Limits bound a request head, as nginx's large_client_header_buffers ("4 8k") does.
// A zero field takes the nginx default (DefaultMaxLine, DefaultMaxTotal).
type Limits struct {
	MaxLine  int // longest request line or header line, bytes (nginx: one buffer, 8k)
	MaxTotal int // whole head, request line + headers + CRLFs (nginx: 4 buffers, 32k)
}

// Defaults for a zero field of Limits (nginx's "4 8k").
const (
	DefaultMaxLine  = 8 << 10
	DefaultMaxTotal = 32 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	return l
}

// Error is a request the server must answer with Status (and then close the connection).
type Error struct {
	Status int    // 400, 414, 501, 505
	Reason string // short, for the debug log: "duplicate Content-Length", "obs-fold in header", ...
}

func (e *Error) Error() string {
	return "h1parse: " + strconv.Itoa(e.Status) + " " + e.Reason
}

func bad(reason string) *Error { return &Error{Status: http.StatusBadRequest, Reason: reason} }

// ReadRequest reads one request head from br and returns the request with Body framed as the head
// says: http.NoBody when there is none, a fixed-length reader for Content-Length, a strict chunked
// reader for Transfer-Encoding: chunked. A framing violation found while reading the body is
// returned by Body.Read as an *Error (the server then closes the connection).
// io.EOF (unwrapped) when the connection ended cleanly before the first byte of a request.
func ReadRequest(br *bufio.Reader, lim Limits) (*http.Request, error) {
	lim = lim.withDefaults()
	// RFC 9112 section 2.2: ignore at least one empty line before the request line.
	for range 2 {
		p, _ := br.Peek(2)
		if len(p) < 2 || p[0] != '\r' || p[1] != '\n' {
			break
		}
		br.Discard(2)
	}
	head, err := readSection(br, lim, true)
	if err != nil {
		return nil, err
	}
	return parseHead(head, br, lim)
}

// readSection reads a head (request line, fields, empty line) or, when
// request is false, a trailer section whose first line is not empty, and
// returns it as one string ending in CRLF CRLF. A trailer section must fit in
// br's buffer, as net/http requires.
func readSection(br *bufio.Reader, lim Limits, request bool) (string, error) {
	var (
		acc       []byte // the section so far once it outgrows br's buffer
		buf       []byte // what is scanned: br's buffered bytes, or acc
		pos       int    // buf[:pos] is scanned
		lineStart int
		consumed  int // bytes of buf already discarded from br
		pending   int // bytes at the end of acc still in br's buffer
		first     = request
	)
	for {
		for pos < len(buf) {
			i := bytes.IndexByte(buf[pos:], '\n')
			if i < 0 {
				pos = len(buf)
				break
			}
			nl := pos + i
			crlf := nl > lineStart && buf[nl-1] == '\r'
			n := nl - lineStart
			if crlf {
				n--
			}
			// Length first, so that the status does not depend on how the
			// bytes arrived (the partial-line check below).
			if n > lim.MaxLine {
				return "", lineTooLong(first)
			}
			if !crlf {
				return "", bad("bare LF in head")
			}
			if nl+1 > lim.MaxTotal {
				return "", bad("request head too large")
			}
			if n == 0 {
				if first {
					return "", bad("empty request line")
				}
				s := string(buf[:nl+1])
				br.Discard(nl + 1 - consumed)
				return s, nil
			}
			first = false
			lineStart, pos = nl+1, nl+1
		}
		if len(buf)-lineStart > lim.MaxLine+1 {
			return "", lineTooLong(first)
		}
		if len(buf) > lim.MaxTotal {
			return "", bad("request head too large")
		}
		if pending > 0 {
			br.Discard(pending)
			consumed += pending
			pending = 0
		}
		if acc == nil {
			if len(buf) < br.Size() {
				// Take all that is buffered, reading more only when nothing new is.
				if br.Buffered() <= len(buf) {
					if _, err := br.Peek(len(buf) + 1); err != nil {
						return "", readErr(err, request && len(buf) == 0)
					}
				}
				buf, _ = br.Peek(br.Buffered())
				continue
			}
			if !request {
				return "", bad("trailer section too large")
			}
			// The head outgrows br's buffer: copy it out and go on.
			acc = append(make([]byte, 0, 2*len(buf)), buf...)
			br.Discard(len(buf))
			consumed = len(buf)
		}
		p, err := br.Peek(1)
		if len(p) == 0 {
			return "", readErr(err, false)
		}
		p, _ = br.Peek(br.Buffered())
		acc = append(acc, p...)
		buf, pending = acc, len(p)
	}
}

func lineTooLong(requestLine bool) *Error {
	if requestLine {
		return &Error{Status: http.StatusRequestURITooLong, Reason: "request line too long"}
	}
	return bad("header line too long")
}

// readErr maps a read error inside a head: a clean EOF is io.EOF only before
// the first byte of a request.
func readErr(err error, clean bool) error {
	if err == io.EOF && !clean {
		return io.ErrUnexpectedEOF
	}
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseHead(s string, br *bufio.Reader, lim Limits) (*http.Request, error) {
	nl := strings.IndexByte(s, '\n')
	line := s[:nl-1]
	sp1 := strings.IndexByte(line, ' ')
	if sp1 < 0 {
		return nil, bad("malformed request line")
	}
	method := line[:sp1]
	if !isToken(method) {
		return nil, bad("invalid method")
	}
	rest := line[sp1+1:]
	sp2 := strings.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, bad("malformed request line")
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return nil, bad("invalid request target")
		}
	}
	if len(proto) != len("HTTP/1.1") || proto[:5] != "HTTP/" || proto[6] != '.' ||
		!isDigit(proto[5]) || !isDigit(proto[7]) {
		return nil, bad("malformed HTTP version")
	}
	if proto[5] == '0' {
		return nil, bad("malformed HTTP version") // as nginx: a major version starts with 1-9
	}
	if proto[5] != '1' {
		return nil, &Error{Status: http.StatusHTTPVersionNotSupported, Reason: "unsupported HTTP version"}
	}
	minor := int(proto[7] - '0')

	// As net/http: CONNECT's authority-form target parses as a URL's host.
	rawurl := target
	justAuthority := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	if justAuthority {
		rawurl = "http://" + target
	}
	u, err := url.ParseRequestURI(rawurl)
	if err != nil {
		return nil, bad("invalid request target")
	}
	if justAuthority {
		u.Scheme = ""
	}

	fields := s[nl+1:]
	n := strings.Count(fields, "\n") - 1
	h := make(http.Header, n)
	if err := parseFields(fields, h, make([]string, n)); err != nil {
		return nil, err
	}

	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      proto,
		ProtoMajor: 1,
		ProtoMinor: minor,
		Header:     h,
		RequestURI: target,
	}
	switch proto {
	case "HTTP/1.1":
		req.Proto = "HTTP/1.1"
	case "HTTP/1.0":
		req.Proto = "HTTP/1.0"
	}

	hosts := h["Host"]
	switch {
	case len(hosts) > 1:
		return nil, bad("duplicate Host")
	case len(hosts) == 0 && minor >= 1:
		return nil, bad("missing Host")
	case len(hosts) == 1 && !validHost(hosts[0]):
		return nil, bad("invalid Host")
	}
	req.Host = u.Host
	if req.Host == "" && len(hosts) == 1 {
		req.Host = hosts[0]
	}
	delete(h, "Host")

	// net/http's fixPragmaCacheControl.
	if hp, ok := h["Pragma"]; ok && len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}

	// net/http's shouldClose.
	conn := h["Connection"]
	req.Close = containsToken(conn, "close")
	if minor == 0 && !containsToken(conn, "keep-alive") {
		req.Close = true
	}

	te, chunked := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	if chunked {
		if minor == 0 {
			return nil, bad("Transfer-Encoding on HTTP/1.0")
		}
		if len(te) > 1 {
			return nil, bad("duplicate Transfer-Encoding")
		}
		if !strings.EqualFold(te[0], "chunked") {
			return nil, transferCodingError(te[0])
		}
		if hasCL {
			return nil, bad("Content-Length with Transfer-Encoding")
		}
		delete(h, "Transfer-Encoding")
		if tr, ok := h["Trailer"]; ok {
			delete(h, "Trailer")
			if req.Trailer, err = declaredTrailers(tr); err != nil {
				return nil, err
			}
		}
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Body = &chunkedBody{br: br, req: req, lim: lim}
		return req, nil
	}
	if hasCL {
		if len(cl) > 1 {
			return nil, bad("duplicate Content-Length")
		}
		n, ok := parseContentLength(cl[0])
		if !ok {
			return nil, bad("invalid Content-Length")
		}
		req.ContentLength = n
	}
	if req.ContentLength > 0 {
		req.Body = &fixedBody{br: br, n: req.ContentLength}
	} else {
		req.Body = http.NoBody
	}
	return req, nil
}

// parseFields parses field lines "name: value\r\n" up to and including the
// empty line into h; strs backs single values, as in net/textproto.
func parseFields(s string, h http.Header, strs []string) error {
	for {
		nl := strings.IndexByte(s, '\n')
		line := s[:nl-1]
		s = s[nl+1:]
		if line == "" {
			return nil
		}
		if c := line[0]; c == ' ' || c == '\t' {
			return bad("obs-fold in header")
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return bad("header line without colon")
		}
		if colon == 0 {
			return bad("empty header name")
		}
		key, ok := canonicalKey(line[:colon])
		if !ok {
			return bad("invalid header name")
		}
		v := line[colon+1:]
		for i := 0; i < len(v); i++ {
			if !valueByte[v[i]] {
				return bad("invalid header value")
			}
		}
		v = trimOWS(v)
		vv := h[key]
		if vv == nil && len(strs) > 0 {
			vv, strs = strs[:1:1], strs[1:]
			vv[0] = v
			h[key] = vv
		} else {
			h[key] = append(vv, v)
		}
	}
}

// transferCodingError is the answer to a Transfer-Encoding other than a
// lone "chunked": 501, as nginx gives for every such value (a list, an
// unknown coding, "chunked" twice or not last, an empty value).
func transferCodingError(v string) *Error {
	return &Error{Status: http.StatusNotImplemented, Reason: "unsupported Transfer-Encoding " + strconv.Quote(v)}
}

// declaredTrailers is net/http's fixTrailer, rejecting non-token names too.
func declaredTrailers(vv []string) (http.Header, error) {
	var t http.Header
	for _, v := range vv {
		for e := range strings.SplitSeq(v, ",") {
			e = trimOWS(e)
			if e == "" {
				continue
			}
			if !isToken(e) {
				return nil, bad("invalid Trailer")
			}
			key := textproto.CanonicalMIMEHeaderKey(e)
			switch key {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, bad("bad trailer key")
			}
			if t == nil {
				t = make(http.Header)
			}
			t[key] = nil
		}
	}
	return t, nil
}

// parseContentLength accepts 1*DIGIT that fits an int64.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
		if n < 0 {
			return 0, false
		}
	}
	return n, true
}

// containsToken is httpguts.HeaderValuesContainsToken.
func containsToken(vv []string, token string) bool {
	for _, v := range vv {
		for e := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trimOWS(e), token) {
				return true
			}
		}
	}
	return false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// validHost is httpguts.ValidHostHeader.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostByte[h[i]] {
			return false
		}
	}
	return true
}

// canonicalKey returns name's canonical form (textproto's), without
// allocating when name is already canonical or a common header name.
func canonicalKey(name string) (string, bool) {
	canonical, upper := true, true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tchar[c] {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return name, true
	}
	var a [64]byte
	if len(name) > len(a) {
		return textproto.CanonicalMIMEHeaderKey(name), true
	}
	b := a[:len(name)]
	upper = true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	if k, ok := commonKeys[string(b)]; ok {
		return k, true
	}
	return string(b), true
}
