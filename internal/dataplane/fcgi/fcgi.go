// Package fcgi is the FastCGI client behind backend-protocol: FCGI. It is
// an exchange.Exchanger, so the proxy's hooks (headers, timeouts, retries,
// custom errors) apply to FastCGI pools as to HTTP ones.
//
// It follows nginx's fastcgi_pass as ingress-nginx configures it: the
// parameters of nginx's fastcgi_params file, every request header as an
// HTTP_* parameter, fastcgi_index for URIs ending in "/", the
// fastcgi-params-configmap parameters last (they win), one connection per
// request (fastcgi_keep_conn off), and the CGI response's Status and
// Location headers turned into the HTTP status.
package fcgi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/oneshot"
	"github.com/moat-ingress/moat/internal/dataplane/upstream/exchange"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Record types and roles of the FastCGI 1.0 specification.
const (
	typeBeginRequest = 1
	typeEndRequest   = 3
	typeParams       = 4
	typeStdin        = 5
	typeStdout       = 6
	typeStderr       = 7

	roleResponder = 1

	// maxContent is the largest record body.
	maxContent = 65535
	// requestID is constant: one request per connection.
	requestID = 1
	// maxHeaderBytes bounds the CGI response head, like nginx's
	// fastcgi_buffer_size bounds it (larger heads are a 502).
	maxHeaderBytes = 64 << 10
)

// Transport speaks FastCGI to the request URL's host:port.
type Transport struct {
	settings routecfg.FastCGI
	dialer   *exchange.Dialer
	logger   *slog.Logger
}

// New returns a Transport. dialer connects to endpoints (the data
// plane's, which applies proxy-connect-timeout; nil: one with the default
// timeout); logger receives what the application writes to stderr, as
// nginx logs "FastCGI sent in stderr".
func New(s routecfg.FastCGI, dialer *exchange.Dialer, logger *slog.Logger) *Transport {
	if dialer == nil {
		dialer = exchange.NewDialer(0)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Transport{settings: s, dialer: dialer, logger: logger}
}

// RoundTrip is Exchange without an attempt.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.Exchange(r, nil)
}

// Exchange sends r as a FastCGI request and returns the response with
// its body streaming from the connection. The connection closes when the
// body is closed or the request's context ends. at (which may be nil)
// times the dial and gives SERVER_ADDR and SERVER_PORT.
func (t *Transport) Exchange(r *http.Request, at exchange.Attempt) (*http.Response, error) {
	ctx := r.Context()
	reqBody, length, err := requestBody(r)
	if err != nil {
		return nil, err
	}
	conn, err := t.dialer.Dial(ctx, "tcp", r.URL.Host, at)
	if err != nil {
		return nil, err
	}
	oc := oneshot.Watch(ctx, conn)
	w := bufio.NewWriterSize(conn, 16<<10)
	var server net.Addr
	if at != nil {
		server = at.ServerAddr()
	}
	if err := t.writeRequest(w, r, reqBody, length, server); err != nil {
		return nil, oc.Fail(fmt.Errorf("fastcgi: sending the request: %w", err))
	}
	sr := &stdoutReader{br: bufio.NewReader(conn), logger: t.logger, upstream: r.URL.Host}
	res, body, err := readResponse(sr, r)
	if err != nil {
		return nil, oc.Fail(err)
	}
	if res.Request.Method == http.MethodHead {
		body = http.NoBody
	}
	res.Body = oc.Body(body)
	return res, nil
}

// requestBody returns the body to send and its length. FastCGI needs
// CONTENT_LENGTH up front, so a body of unknown length (chunked) is read
// whole first, as nginx reads it before fastcgi_pass; the proxy's
// proxy-body-size limit bounds it.
func requestBody(r *http.Request) (io.Reader, int64, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, 0, nil
	}
	if r.ContentLength > 0 {
		return r.Body, r.ContentLength, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("fastcgi: reading the request body: %w", err)
	}
	return bytes.NewReader(b), int64(len(b)), nil
}

func (t *Transport) writeRequest(w *bufio.Writer, r *http.Request, body io.Reader, length int64, server net.Addr) error {
	begin := [8]byte{0, roleResponder, 0 /* no FCGI_KEEP_CONN */}
	if err := writeRecord(w, typeBeginRequest, begin[:]); err != nil {
		return err
	}
	var params []byte
	for _, p := range t.params(r, length, server) {
		params = appendPair(params, p[0], p[1])
	}
	if err := writeStream(w, typeParams, params); err != nil {
		return err
	}
	if body != nil {
		buf := make([]byte, 32<<10)
		var sent int64
		for {
			n, err := body.Read(buf)
			if n > 0 {
				sent += int64(n)
				if err := writeRecord(w, typeStdin, buf[:n]); err != nil {
					return err
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if sent != length {
			return fmt.Errorf("request body is %d bytes, Content-Length said %d", sent, length)
		}
	}
	if err := writeRecord(w, typeStdin, nil); err != nil {
		return err
	}
	return w.Flush()
}

// params is nginx's fastcgi_params, then the request headers, then the
// configured parameters (nginx sends all of them; a FastCGI application
// keeps the last value of a repeated name).
func (t *Transport) params(r *http.Request, length int64, server net.Addr) [][2]string {
	v := varsFor(r, t.settings.Index, length, server)
	out := make([][2]string, 0, 20+len(r.Header)+len(t.settings.Params))
	add := func(k, val string) { out = append(out, [2]string{k, val}) }
	add("QUERY_STRING", v.args)
	add("REQUEST_METHOD", r.Method)
	add("CONTENT_TYPE", r.Header.Get("Content-Type"))
	if length > 0 {
		add("CONTENT_LENGTH", strconv.FormatInt(length, 10))
	} else {
		add("CONTENT_LENGTH", "")
	}
	add("SCRIPT_NAME", v.scriptName)
	add("REQUEST_URI", v.requestURI)
	add("DOCUMENT_URI", v.uri)
	add("DOCUMENT_ROOT", documentRoot)
	add("SERVER_PROTOCOL", v.protocol)
	add("REQUEST_SCHEME", v.scheme)
	if v.https != "" {
		add("HTTPS", v.https)
	}
	add("GATEWAY_INTERFACE", "CGI/1.1")
	add("SERVER_SOFTWARE", "moat")
	add("REMOTE_ADDR", v.remoteAddr)
	add("REMOTE_PORT", v.remotePort)
	add("SERVER_ADDR", v.serverAddr)
	add("SERVER_PORT", v.serverPort)
	add("SERVER_NAME", v.host)
	add("REDIRECT_STATUS", "200")
	for k, vals := range r.Header {
		switch k {
		case "Content-Type", "Content-Length":
			continue // sent as CONTENT_TYPE and CONTENT_LENGTH
		case "Proxy":
			continue // httpoxy: HTTP_PROXY would set the application's outgoing proxy
		}
		add("HTTP_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_")), strings.Join(vals, ", "))
	}
	if r.Host != "" {
		add("HTTP_HOST", r.Host)
	}
	for _, p := range t.settings.Params {
		add(p.Name, expand(p.Value, v))
	}
	return out
}

// documentRoot is nginx's compiled-in default root, which ingress-nginx's
// locations do not change ($document_root).
const documentRoot = "/etc/nginx/html"

func writeRecord(w *bufio.Writer, typ byte, content []byte) error {
	pad := (8 - len(content)%8) % 8
	h := [8]byte{1, typ}
	binary.BigEndian.PutUint16(h[2:], requestID)
	binary.BigEndian.PutUint16(h[4:], uint16(len(content)))
	h[6] = byte(pad)
	w.Write(h[:])
	w.Write(content)
	var zero [8]byte
	_, err := w.Write(zero[:pad])
	return err
}

// writeStream writes content as records of at most maxContent bytes and
// the empty record that ends the stream.
func writeStream(w *bufio.Writer, typ byte, content []byte) error {
	for len(content) > 0 {
		n := min(len(content), maxContent)
		if err := writeRecord(w, typ, content[:n]); err != nil {
			return err
		}
		content = content[n:]
	}
	return writeRecord(w, typ, nil)
}

func appendLen(b []byte, n int) []byte {
	if n < 128 {
		return append(b, byte(n))
	}
	return binary.BigEndian.AppendUint32(b, uint32(n)|1<<31)
}

func appendPair(b []byte, k, v string) []byte {
	b = appendLen(b, len(k))
	b = appendLen(b, len(v))
	b = append(b, k...)
	return append(b, v...)
}

// stdoutReader yields the content of the STDOUT records, logs STDERR
// records and ends at END_REQUEST.
type stdoutReader struct {
	br       *bufio.Reader
	logger   *slog.Logger
	upstream string
	left     int // content bytes of the current STDOUT record
	pad      int
	done     bool
}

func (s *stdoutReader) Read(p []byte) (int, error) {
	for s.left == 0 {
		if s.done {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n, err := s.br.Read(p[:min(len(p), s.left)])
	s.left -= n
	if s.left == 0 && err == nil {
		_, err = s.br.Discard(s.pad)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads record headers until a STDOUT record with content or the end.
func (s *stdoutReader) next() error {
	var h [8]byte
	if _, err := io.ReadFull(s.br, h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("fastcgi: reading a record: %w", err)
	}
	if h[0] != 1 {
		return fmt.Errorf("fastcgi: record version %d", h[0])
	}
	n, pad := int(binary.BigEndian.Uint16(h[4:])), int(h[6])
	switch h[1] {
	case typeStdout:
		if n == 0 {
			_, err := s.br.Discard(pad)
			return err
		}
		s.left, s.pad = n, pad
		return nil
	case typeStderr:
		msg := make([]byte, n)
		if _, err := io.ReadFull(s.br, msg); err != nil {
			return err
		}
		if _, err := s.br.Discard(pad); err != nil {
			return err
		}
		if len(msg) > 0 {
			s.logger.Warn("FastCGI sent in stderr", "upstream", s.upstream, "message", strings.TrimSpace(string(msg)))
		}
		return nil
	case typeEndRequest:
		if _, err := s.br.Discard(n + pad); err != nil {
			return err
		}
		s.done = true
		return nil
	default:
		if _, err := s.br.Discard(n + pad); err != nil {
			return err
		}
		return nil
	}
}

// readResponse parses the CGI response head (RFC 3875 §6) and returns
// the response with the reader of its body.
func readResponse(sr *stdoutReader, r *http.Request) (*http.Response, io.Reader, error) {
	br := bufio.NewReader(io.LimitReader(sr, maxHeaderBytes))
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, errors.New("fastcgi: the application ended before a complete response head (or the head exceeds 64 KiB)")
		}
		return nil, nil, fmt.Errorf("fastcgi: malformed response head: %w", err)
	}
	res := &http.Response{
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header(hdr), ContentLength: -1, Request: r,
	}
	if s := hdr.Get("Status"); s != "" {
		code, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(s), " ", 2)[0])
		if err != nil || code < 100 || code > 999 {
			return nil, nil, fmt.Errorf("fastcgi: bad Status header %q", s)
		}
		res.StatusCode = code
		delete(res.Header, "Status")
	} else if hdr.Get("Location") != "" {
		// nginx: a Location without a Status is a redirect.
		res.StatusCode = http.StatusFound
	}
	res.Status = strconv.Itoa(res.StatusCode) + " " + http.StatusText(res.StatusCode)
	if cl := hdr.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64); err == nil && n >= 0 {
			res.ContentLength = n
		}
	}
	if r.Method == http.MethodHead {
		res.ContentLength = 0
	}
	// What the head's reader buffered past the blank line is body.
	rest, _ := br.Peek(br.Buffered())
	return res, io.MultiReader(bytes.NewReader(bytes.Clone(rest)), sr), nil
}
