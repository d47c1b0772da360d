package h1serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// smallBody is how much of a response body is held before the head is
// written, so that a short response gets a Content-Length instead of
// chunks (net/http's 2 KiB).
const smallBody = 2 << 10

// response is the http.ResponseWriter of one request. It also offers
// what http.ResponseController asks for: FlushError, Hijack, the read and
// write deadlines and EnableFullDuplex.
type response struct {
	c      *conn
	req    *http.Request
	body   *body // nil when the request has none
	header http.Header
	status int

	wroteHeader bool       // the final status is set
	committed   bool       // the head is in c.bw; set under cmu
	cmu         sync.Mutex // committed against sendContinue
	chunked     bool
	closeAfter  bool
	head        bool  // a HEAD request: no body is sent
	cl          int64 // the declared Content-Length, -1 when none
	written     int64 // body bytes the handler wrote
	buf         []byte
	err         error // a write to the client failed
}

func newResponse(c *conn, req *http.Request) *response {
	w := &response{c: c, req: req, header: make(http.Header), cl: -1, head: req.Method == http.MethodHead}
	if req.Close || (req.ProtoMajor == 1 && req.ProtoMinor == 0 && !httpguts.HeaderValuesContainsToken(req.Header["Connection"], "keep-alive")) {
		w.closeAfter = true
	}
	if req.Body != nil && req.Body != http.NoBody {
		w.body = &body{r: req.Body, w: w}
		w.body.cont.Store(req.ProtoAtLeast(1, 1) && httpguts.HeaderValuesContainsToken(req.Header["Expect"], "100-continue"))
		req.Body = w.body
	}
	return w
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.c.hijacked || w.wroteHeader {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational answer (103 Early Hints): sent now, with the
		// headers set so far; the final one follows.
		if w.err != nil {
			return
		}
		w.cmu.Lock()
		w.writeStatus(code)
		w.writeHeaders(w.header)
		w.c.bw.WriteString("\r\n")
		err := w.c.bw.Flush()
		w.cmu.Unlock()
		w.setErr(err)
		if code == http.StatusContinue && w.body != nil {
			w.body.cont.Store(false)
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	if v := w.header["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		} else {
			delete(w.header, "Content-Length")
		}
	} else if len(v) > 1 {
		delete(w.header, "Content-Length")
	}
}

// sendContinue sends 100 Continue unless the response has begun; it runs
// on the goroutine reading the body.
func (w *response) sendContinue() error {
	w.cmu.Lock()
	defer w.cmu.Unlock()
	if w.committed {
		return nil
	}
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	return bw.Flush()
}

// bodyAllowed reports whether the status may carry a body.
func (w *response) bodyAllowed() bool {
	s := w.status
	return !(s >= 100 && s < 200) && s != http.StatusNoContent && s != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), nil
	}
	if !w.committed {
		if w.cl < 0 && len(w.buf)+len(p) <= smallBody {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	return w.writeBody(p)
}

// writeBody writes p (and what was held) after the head.
func (w *response) writeBody(p []byte) (int, error) {
	if len(w.buf) > 0 {
		held := w.buf
		w.buf = nil
		if _, err := w.writeChunk(held); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	return w.writeChunk(p)
}

func (w *response) writeChunk(p []byte) (int, error) {
	bw := w.c.bw
	if w.chunked {
		var hex [16]byte
		bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.setErr(err)
		return n, err
	}
	return n, nil
}

func (w *response) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.closeAfter = true
	}
}

// commit writes the head. done says the handler has returned, so a held
// body's length is known.
func (w *response) commit(done bool) {
	if w.committed {
		return
	}
	w.cmu.Lock()
	w.committed = true
	w.cmu.Unlock()
	h := w.header
	// Hop-by-hop framing is the server's.
	delete(h, "Transfer-Encoding")
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	if w.c.s.closing.Load() || w.c.s.DisableKeepAlives {
		w.closeAfter = true
	}
	if w.body != nil && w.body.cont.Load() {
		// The client waits for 100 Continue that will not come: it may
		// send the body or not, so the connection cannot be reused.
		w.closeAfter = true
	}
	if w.body != nil && !w.body.finished() && w.req.ContentLength > maxDiscard {
		// An answer before a large body is read (a 413): more than drain
		// reads is left, so say now that the connection will close, as
		// net/http does.
		w.closeAfter = true
	}
	allowed := w.bodyAllowed()
	switch {
	case !allowed:
		delete(h, "Content-Length")
		w.cl = -1
	case w.cl >= 0:
	case done && !hasTrailers(h) && (!w.head || (w.written > 0 && w.written <= smallBody)):
		// The whole body is known (a HEAD answer's from what the handler
		// wrote, as net/http): send its length instead of chunks.
		w.cl = w.written
		h["Content-Length"] = []string{strconv.FormatInt(w.cl, 10)}
	case w.head:
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.closeAfter = true // an HTTP/1.0 body ends with the connection
	}
	if w.status == http.StatusSwitchingProtocols {
		w.closeAfter = false
	}
	delete(h, "Connection")
	delete(h, "Keep-Alive")
	w.writeStatus(w.status)
	w.writeHeaders(h)
	bw := w.c.bw
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closeAfter && w.status != http.StatusSwitchingProtocols {
		bw.WriteString("Connection: close\r\n")
	} else if w.req.ProtoMajor == 1 && w.req.ProtoMinor == 0 {
		bw.WriteString("Connection: keep-alive\r\n")
	}
	if h["Date"] == nil {
		bw.Write(w.c.s.dateHeader())
	}
	bw.WriteString("\r\n")
}

func hasTrailers(h http.Header) bool {
	if h["Trailer"] != nil {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// writeStatus writes the status line; always HTTP/1.1, as nginx does.
func (w *response) writeStatus(code int) {
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	var num [3]byte
	bw.Write(strconv.AppendInt(num[:0], int64(code), 10))
	bw.WriteByte(' ')
	if t := http.StatusText(code); t != "" {
		bw.WriteString(t)
	} else {
		bw.WriteString("status code ")
		bw.Write(strconv.AppendInt(num[:0], int64(code), 10))
	}
	bw.WriteString("\r\n")
}

// writeHeaders writes h's fields. Fields with an invalid name are left
// out and line breaks in values become spaces, so that no header can
// split the response.
func (w *response) writeHeaders(h http.Header) {
	bw := w.c.bw
	declared := h["Trailer"]
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		if declared != nil && k != "Trailer" && httpguts.HeaderValuesContainsToken(declared, k) {
			continue // sent after the body
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			writeValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
}

func writeValue(bw *bufio.Writer, v string) {
	for {
		i := strings.IndexAny(v, "\r\n")
		if i < 0 {
			bw.WriteString(strings.TrimSpace(v))
			return
		}
		bw.WriteString(v[:i])
		bw.WriteByte(' ')
		v = v[i+1:]
	}
}

// finish completes the response once the handler returned: the head if
// not yet written, what was held, the last chunk and the trailers.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.c.hijacked {
		return
	}
	w.commit(true)
	if !w.head {
		w.writeBody(nil)
	}
	bw := w.c.bw
	if w.chunked && w.err == nil {
		bw.WriteString("0\r\n")
		w.writeTrailers()
		bw.WriteString("\r\n")
	}
	if w.cl >= 0 && w.written < w.cl && !w.head && w.bodyAllowed() {
		// The client expects more than the handler wrote.
		w.closeAfter = true
	}
	w.setErr(bw.Flush())
}

func (w *response) writeTrailers() {
	bw := w.c.bw
	for k, vs := range w.header {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok {
			if !httpguts.HeaderValuesContainsToken(w.header["Trailer"], k) {
				continue
			}
			name = k
		}
		if !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vs {
			bw.WriteString(name)
			bw.WriteString(": ")
			writeValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
}

// Flush sends the head and what was written so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(false)
	if !w.head {
		w.writeBody(nil)
	}
	w.setErr(w.c.bw.Flush())
	return w.err
}

// Hijack hands the connection to the handler (protocol upgrades).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	c.cr.stopWatch()
	if w.wroteHeader {
		w.commit(false)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	c.hijacked = true
	c.s.setState(c.nc, http.StateHijacked)
	// The connection is the handler's now: Shutdown no longer waits for
	// it, nor Close closes it (upgraded connections drain on their own).
	c.s.forget(c)
	return c.nc, bufio.NewReadWriter(c.br, bufio.NewWriter(c.nc)), nil
}

// SetReadDeadline is for http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

// SetWriteDeadline is for http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex is for http.ResponseController: the request body can
// always be read while the response is written here.
func (w *response) EnableFullDuplex() error { return nil }

// body is a request's body as the handler reads it: it sends 100
// Continue on the first read when the client asked for it, starts the
// watch for the client going away once the body is read, and ends when
// the handler returns. The handler may read it from another goroutine
// than the one writing the response (an upstream exchange does).
type body struct {
	mu   sync.Mutex // Read against end and drain
	r    io.ReadCloser
	w    *response
	cont atomic.Bool // 100 Continue not yet sent
	done atomic.Bool // read to the end
	over bool        // the handler returned
	err  error
}

var errBodyAfterHandler = errors.New("h1serve: request body read after the handler returned")

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return 0, errBodyAfterHandler
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.cont.Swap(false) {
		if err := b.w.sendContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.done.Store(true)
		b.w.c.cr.watchAfter(bgReadDelay)
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// Close keeps the rest of the body for drain, as net/http does.
func (b *body) Close() error { return nil }

func (b *body) finished() bool { return b == nil || b.done.Load() }

// end makes later reads fail: the connection's next request follows.
func (b *body) end() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.over = true
	b.mu.Unlock()
}

// drain reads and drops what the handler left of the body, up to
// maxDiscard; true when the connection can serve another request.
func (b *body) drain() bool {
	if b == nil || b.done.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cont.Load() || (b.err != nil && b.err != io.EOF) {
		return false // the client never got 100 Continue, or the body broke
	}
	n, err := io.CopyN(io.Discard, b.r, maxDiscard+1)
	if err == io.EOF && n <= maxDiscard {
		b.done.Store(true)
		return true
	}
	return false
}
