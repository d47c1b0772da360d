// Package respwriter is the proxy's writer to the client: it records the
// status and body size for the access log and metrics, puts the Server
// header on final responses, holds flushes under proxy-buffering and
// tracks upgraded connections. Flush and Hijack are passed through
// (ReverseProxy reaches them with http.ResponseController); Unwrap
// exposes the rest.
package respwriter

import (
	"bufio"
	"net"
	"net/http"
	"sync"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/upgrade"
)

// Writer records the status and body size for the access log and
// metrics. Flush and Hijack are passed through (ReverseProxy reaches them
// with http.ResponseController); Unwrap exposes the rest.
type Writer struct {
	W           http.ResponseWriter
	Status      int
	Bytes       int64
	WroteHeader bool
	Hijacked    bool
	// HoldFlush skips flushes: proxy-buffering on.
	HoldFlush bool
	// Server is the Server header every final response carries; nil
	// leaves the header alone.
	Server []string
	// Upgrades tracks the connection if the request upgrades it;
	// WebSocket is set when the upgrade is to WebSocket.
	Upgrades  *upgrade.Upgrades
	WebSocket bool
}

func (rw *Writer) Header() http.Header { return rw.W.Header() }

func (rw *Writer) WriteHeader(code int) {
	// 1xx (100 Continue, 103 Early Hints) are interim; the final status
	// comes later. 101 never arrives here: the upgrade hijacks instead.
	if code >= 100 && code < 200 {
		rw.W.WriteHeader(code)
		return
	}
	if !rw.WroteHeader {
		rw.WroteHeader = true
		rw.Status = code
		rw.setServer()
	}
	rw.W.WriteHeader(code)
}

func (rw *Writer) Write(b []byte) (int, error) {
	if !rw.WroteHeader {
		rw.WroteHeader = true
		rw.Status = http.StatusOK
		rw.setServer()
	}
	n, err := rw.W.Write(b)
	rw.Bytes += int64(n)
	return n, err
}

// FlushError lets ReverseProxy's flushes reach the client connection.
// net/http's own writers implement http.Flusher; asking them directly
// avoids a ResponseController allocation per flush.
func (rw *Writer) FlushError() error {
	if rw.HoldFlush {
		return nil
	}
	switch w := rw.W.(type) {
	case interface{ FlushError() error }:
		return w.FlushError()
	case http.Flusher:
		w.Flush()
		return nil
	}
	return http.NewResponseController(rw.W).Flush()
}

// FlushStarted flushes what the client has not got yet, once the
// response has begun: before that a flush would commit the header early.
func (rw *Writer) FlushStarted() {
	if rw.WroteHeader && !rw.Hijacked {
		rw.FlushError() //nolint:errcheck // a gone client fails the next write
	}
}

// Hijack serves WebSocket and other protocol upgrades.
func (rw *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rw.W).Hijack()
	if err == nil {
		rw.Hijacked = true
		if rw.Upgrades != nil {
			c = rw.Upgrades.Track(c, rw.WebSocket)
		}
	}
	return c, brw, err
}

func (rw *Writer) Unwrap() http.ResponseWriter { return rw.W }

// setServer puts the Server header on a final response about to be
// written.
func (rw *Writer) setServer() {
	if rw.Server != nil {
		rw.W.Header()["Server"] = rw.Server
	}
}

// BufferPool recycles ReverseProxy's copy buffers. Pooling array pointers
// (not slices) keeps Put from allocating a slice header.
type BufferPool struct{}

const copyBufferSize = 32 << 10

var copyBuffers = sync.Pool{New: func() any { return new([copyBufferSize]byte) }}

func (BufferPool) Get() []byte { return copyBuffers.Get().(*[copyBufferSize]byte)[:] }

func (BufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		copyBuffers.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
	}
}
