// Package compress is the data plane's response compression: the
// ConfigMap's use-gzip and enable-brotli (compression.Config), decided
// per response as ingress-nginx's nginx decides it.
//
// The rules, from nginx's gzip filter and ngx_brotli's filter (the module
// ingress-nginx loads), both applied to every response at http level:
//   - only 200, 403 and 404 answers are compressed, never one that already
//     has a Content-Encoding, nor one whose Content-Length is below the
//     minimum (unknown lengths are compressed), nor a media type outside the
//     list (text/html is always in it; "*" is every type);
//   - brotli's filter runs first: a client that accepts br (q > 0) gets br
//     when the response is eligible for brotli, whatever the q of gzip;
//     otherwise gzip, only for HTTP/1.1 and later (gzip_http_version 1.1),
//     whatever the Via header (gzip_proxied any) and unless gzip-disable
//     matches the User-Agent. "*" in Accept-Encoding selects neither, as
//     nginx matches the coding names only;
//   - an eligible response gets Vary: Accept-Encoding whether or not the
//     client accepted a coding (gzip_vary on);
//   - a compressed response loses Content-Length and Accept-Ranges and its
//     strong ETag becomes weak (an unquoted one is dropped);
//   - a HEAD answer gets the headers a GET would, with no body, as nginx's
//     header filters run before it marks the response header-only.
//
// The encoder flushes whenever the proxy flushes (the upstream made the
// body wait, or a body of unknown length), so streamed responses still
// stream; it never holds more than its window. Encoders are pooled per
// coding and level.
package compress

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/moat-ingress/moat/internal/routecfg/compression"
)

// brotliWindow is ngx_brotli's default brotli_window (512k), which
// ingress-nginx keeps.
const brotliWindow = 19

// Coding is a content coding moat produces.
type Coding uint8

// The codings.
const (
	None Coding = iota
	Gzip
	Brotli
)

// encoder is what gzip.Writer and brotli.Writer have in common.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

// Encoders pools gzip and brotli writers by level; one per proxy handler.
type Encoders struct {
	gzip [gzip.BestCompression + 1]sync.Pool
	br   [brotli.BestCompression + 1]sync.Pool
}

// NewEncoders returns empty pools.
func NewEncoders() *Encoders { return new(Encoders) }

func gzipLevel(l int) int { return min(max(l, gzip.BestSpeed), gzip.BestCompression) }

func brotliLevel(l int) int { return min(max(l, brotli.BestSpeed), brotli.BestCompression) }

func (e *Encoders) get(c Coding, level int, dst io.Writer) encoder {
	if c == Gzip {
		level = gzipLevel(level)
		if z, ok := e.gzip[level].Get().(*gzip.Writer); ok {
			z.Reset(dst)
			return z
		}
		z, _ := gzip.NewWriterLevel(dst, level) // level is in range
		return z
	}
	level = brotliLevel(level)
	if b, ok := e.br[level].Get().(*brotli.Writer); ok {
		b.Reset(dst)
		return b
	}
	return brotli.NewWriterOptions(dst, brotli.WriterOptions{Quality: level, LGWin: brotliWindow})
}

func (e *Encoders) put(c Coding, level int, w encoder) {
	if c == Gzip {
		e.gzip[gzipLevel(level)].Put(w)
		return
	}
	e.br[brotliLevel(level)].Put(w)
}

// Shared header values; only ever assigned, never modified in place.
var (
	valGzip           = []string{"gzip"}
	valBr             = []string{"br"}
	valAcceptEncoding = []string{"Accept-Encoding"}
)

// Writer is an http.ResponseWriter that compresses the response when the
// configuration and the request allow. Its zero value is unused; Reset
// starts a request, Close finishes it. It lives in the proxy's pooled
// request state, so it costs no allocation per request.
type Writer struct {
	w     http.ResponseWriter
	cfg   *compression.Config
	pools *Encoders
	// From the request: Accept-Encoding lines, the User-Agent, HEAD,
	// HTTP/1.1 or later.
	ae     []string
	ua     string
	head   bool
	http11 bool

	decided bool
	coding  Coding
	enc     encoder
	// dirty: bytes went into enc since its last flush.
	dirty bool
	out   sink
}

// sink counts the bytes that reach the client.
type sink struct {
	w http.ResponseWriter
	n int64
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// Reset prepares cw for the request r answered through w.
func (cw *Writer) Reset(w http.ResponseWriter, r *http.Request, cfg *compression.Config, pools *Encoders) {
	*cw = Writer{
		w: w, cfg: cfg, pools: pools,
		ae: r.Header["Accept-Encoding"], ua: r.Header.Get("User-Agent"),
		head: r.Method == http.MethodHead, http11: r.ProtoAtLeast(1, 1),
		out: sink{w: w},
	}
}

// Active reports whether Reset has started a request.
func (cw *Writer) Active() bool { return cw.w != nil }

// Coding is the coding chosen for the response, once its header is written.
func (cw *Writer) Coding() Coding { return cw.coding }

// BytesSent is the number of body bytes written to the client (compressed
// when compressing), for the access log's $body_bytes_sent.
func (cw *Writer) BytesSent() int64 { return cw.out.n }

// Header implements http.ResponseWriter.
func (cw *Writer) Header() http.Header { return cw.w.Header() }

// WriteHeader decides on compression for a final status.
func (cw *Writer) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		cw.w.WriteHeader(code) // interim (103 Early Hints); the final one decides
		return
	}
	if !cw.decided {
		cw.decided = true
		cw.decide(code)
	}
	cw.w.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (cw *Writer) Write(p []byte) (int, error) {
	if !cw.decided {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.enc == nil {
		return cw.out.Write(p)
	}
	if len(p) > 0 {
		cw.dirty = true
	}
	return cw.enc.Write(p)
}

// FlushError sends what the encoder holds (a sync flush, which costs a
// few bytes) and flushes the connection: called when the proxy flushes.
func (cw *Writer) FlushError() error {
	if cw.enc != nil && cw.dirty {
		cw.dirty = false
		if err := cw.enc.Flush(); err != nil {
			return err
		}
	}
	switch w := cw.w.(type) {
	case interface{ FlushError() error }:
		return w.FlushError()
	case http.Flusher:
		w.Flush()
		return nil
	}
	return http.NewResponseController(cw.w).Flush()
}

// Unwrap gives http.ResponseController the connection's writer (Hijack
// for upgrades, deadlines).
func (cw *Writer) Unwrap() http.ResponseWriter { return cw.w }

// Close ends the compressed stream (the encoder's last block and, for
// gzip, the trailer) once the response body is complete, and returns the
// encoder to its pool.
func (cw *Writer) Close() error {
	if cw.enc == nil {
		return nil
	}
	err := cw.enc.Close()
	cw.release()
	return err
}

// Abort returns the encoder to its pool without writing: the response was
// cut short (the handler panicked with http.ErrAbortHandler), and a
// complete-looking stream must not end it.
func (cw *Writer) Abort() {
	if cw.enc != nil {
		cw.release()
	}
}

func (cw *Writer) release() {
	level := cw.cfg.GzipLevel
	if cw.coding == Brotli {
		level = cw.cfg.BrotliLevel
	}
	cw.pools.put(cw.coding, level, cw.enc)
	cw.enc = nil
}

// decide applies the rules in the package comment to the response header.
func (cw *Writer) decide(code int) {
	c := cw.cfg
	if code != http.StatusOK && code != http.StatusForbidden && code != http.StatusNotFound {
		return
	}
	h := cw.w.Header()
	for _, v := range h["Content-Encoding"] {
		if v != "" {
			return
		}
	}
	length := int64(-1)
	if v := h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			length = n
		}
	}
	ct := ""
	if v := h["Content-Type"]; len(v) > 0 {
		ct = v[0]
	}
	// gRPC frames its messages and has its own compression; even "*"
	// leaves it alone (nginx would break it).
	grpc := strings.HasPrefix(ct, "application/grpc")
	br := c.Brotli && !grpc && (length < 0 || length >= c.BrotliMinLength) && c.BrotliTypes.Match(ct)
	gz := c.Gzip && !grpc && (length < 0 || length >= c.GzipMinLength) && c.GzipTypes.Match(ct)
	if !br && !gz {
		return
	}
	addVary(h)
	switch {
	case br && Accepts(cw.ae, "br"):
		cw.coding = Brotli
		h["Content-Encoding"] = valBr
	case gz && cw.http11 && Accepts(cw.ae, "gzip") && !cw.gzipDisabled():
		cw.coding = Gzip
		h["Content-Encoding"] = valGzip
	default:
		return
	}
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	weakETag(h)
	if _, ok := h["Content-Type"]; !ok {
		// No sniffing of compressed bytes: no Content-Type, as nginx.
		h["Content-Type"] = nil
	}
	if cw.head {
		return
	}
	level := c.GzipLevel
	if cw.coding == Brotli {
		level = c.BrotliLevel
	}
	cw.enc = cw.pools.get(cw.coding, level, &cw.out)
}

func (cw *Writer) gzipDisabled() bool {
	c := cw.cfg
	if c.GzipDisableMSIE6 && MSIE6(cw.ua) {
		return true
	}
	return c.GzipDisable != nil && cw.ua != "" && c.GzipDisable.MatchString(cw.ua)
}

// addVary adds Accept-Encoding to Vary unless it is listed (or "*").
func addVary(h http.Header) {
	vs := h["Vary"]
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return
			}
		}
	}
	if len(vs) == 0 {
		h["Vary"] = valAcceptEncoding
		return
	}
	h["Vary"] = append(vs[:len(vs):len(vs)], "Accept-Encoding")
}

// weakETag is nginx's ngx_http_weak_etag: a strong ETag becomes weak, one
// that is not a quoted string is removed, a weak one stays.
func weakETag(h http.Header) {
	v := h["Etag"]
	if len(v) == 0 {
		return
	}
	switch e := v[0]; {
	case strings.HasPrefix(e, "W/"):
	case strings.HasPrefix(e, `"`):
		h["Etag"] = []string{"W/" + e}
	default:
		delete(h, "Etag")
	}
}
