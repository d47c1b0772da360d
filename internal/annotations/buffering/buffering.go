// Package buffering parses the request-body limit and ingress-nginx's
// buffering annotations. nginx spools bodies to memory and disk; moat's
// data plane streams them, so most buffer sizes have nothing to size: they
// are validated and documented as partial.
package buffering

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "proxy-body-size", Scope: annotations.ScopeLocation, Risk: "Medium", Status: annotations.Supported,
		Doc: "Largest request body (nginx size: 8k, 1m, 2g); larger ones get 413, before the upstream is contacted when Content-Length says so. `0` is unlimited. Default 1m (controller setting proxy-body-size)."},
	{Name: "proxy-buffering", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "`on`: moat stops flushing after each upstream write, so the client gets the response in buffer-sized batches, and honours X-Accel-Buffering from the upstream (hidden from the client) as nginx does. Differs: nginx also spools the whole response to memory and disk to release the upstream early; moat holds the upstream until the client has read. Default off, as ingress-nginx."},
	{Name: "proxy-request-buffering", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "`on` (default): a body up to client-body-buffer-size is read whole before the upstream is contacted, sent with a Content-Length even when the client sent it chunked, and sent again on a retry; `off`: bodies are streamed. Differs: nginx also reads larger bodies whole, spooling them to disk; moat streams those."},
	{Name: "client-body-buffer-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "Largest body read into memory before proxying (default 8k; see proxy-request-buffering). Differs: nginx spools larger bodies to disk; moat streams them."},
	{Name: "proxy-buffer-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "Validated; no effect: nginx answers 502 when upstream response headers exceed it (default 4k); moat accepts upstream headers up to 1 MiB, so manifests that raised it work unchanged."},
	{Name: "proxy-buffers-number", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "Validated; no effect: moat does not spool responses (see proxy-buffering)."},
	{Name: "proxy-max-temp-file-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Partial,
		Doc: "Validated; no effect: moat never writes responses to temporary files."},
}

// maxBuffer bounds the memory one request may hold for its body.
const maxBuffer = 1 << 20

// maxHeader is the largest response head the upstream transports read.
const maxHeader = 1 << 20

// maxReadAhead bounds the memory a response reads ahead of the client; the
// rest goes to the temporary file.
const maxReadAhead = 1 << 20

// ReadAhead is the memory a buffered response reads ahead of the client:
// nginx's proxy_buffers (number × size), at most 1m.
func ReadAhead(number, size int64) int64 { return min(number*size, maxReadAhead) }

// Parse reads the family over the controller defaults; nil when no key
// is set.
func Parse(r *annotations.Reader, def routecfg.Body) *routecfg.Body {
	if !nginxval.Set(r, "proxy-body-size", "proxy-buffering", "proxy-request-buffering", "client-body-buffer-size",
		"proxy-buffer-size", "proxy-buffers-number", "proxy-max-temp-file-size") {
		return nil
	}
	b := def
	b.MaxBytes, _ = nginxval.Size(r, "proxy-body-size", def.MaxBytes)
	b.BufferBytes, _ = nginxval.Size(r, "client-body-buffer-size", def.BufferBytes)
	if b.BufferBytes > maxBuffer {
		nginxval.Warn(r, "client-body-buffer-size", "BodyBufferCapped",
			"moat holds at most 1m of a request body in memory; larger bodies are streamed")
		b.BufferBytes = maxBuffer
	}
	if v, ok := nginxval.OneOf(r, "proxy-buffering", "", "on", "off"); ok {
		b.ResponseBuffering = v == "on"
	}
	if v, ok := nginxval.OneOf(r, "proxy-request-buffering", "", "on", "off"); ok {
		b.RequestBuffering = v == "on"
	}
	size, sizeSet := nginxval.Size(r, "proxy-buffer-size", def.ResponseHeaderMax)
	if size > maxHeader {
		nginxval.Warn(r, "proxy-buffer-size", "ProxyBufferSizeCapped",
			"moat reads upstream response heads of at most 1m; larger ones get 502")
		size = maxHeader
	}
	if sizeSet && size == 0 {
		r.Invalid("proxy-buffer-size", "0", "nginx needs room for the response head")
		size = def.ResponseHeaderMax
	}
	b.ResponseHeaderMax = size
	if n, ok := nginxval.Int(r, "proxy-buffers-number", 0, 1, 1024); ok {
		b.BuffersNumber = int64(n)
	}
	b.ResponseBuffers = ReadAhead(b.BuffersNumber, size)
	b.MaxTempFile, _ = nginxval.Size(r, "proxy-max-temp-file-size", def.MaxTempFile)
	return &b
}
