// Package buffering parses the request-body limit and ingress-nginx's
// buffering annotations: like nginx, the data plane holds buffered request
// and response bodies in memory up to these sizes and in temporary files
// beyond.
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
	{Name: "proxy-buffering", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "`on`: the response is read from the upstream ahead of the client, in memory up to proxy-buffers-number × proxy-buffer-size (at most 1m) and then in a temporary file up to proxy-max-temp-file-size, and sent without a flush per upstream write, so the upstream is released early; past both bounds the upstream waits for the client, as nginx. X-Accel-Buffering from the upstream turns it on or off per response and is not passed on. Default off: each upstream write reaches the client as it comes. gRPC responses and upgrades are not buffered (nginx's grpc_pass has no proxy_buffering)."},
	{Name: "proxy-request-buffering", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "`on` (default): the whole request body is read before the upstream is contacted (client-body-buffer-size in memory, the rest in a temporary file), sent with a Content-Length even when the client sent it chunked, and sent again on a retry; a body over proxy-body-size gets 413 without reaching the upstream. `off`: bodies are streamed as they come and not sent again."},
	{Name: "client-body-buffer-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "How much of a buffered request body is held in memory (default 8k); the rest goes to a temporary file, as nginx's client_body_buffer_size. Above 1m moat still holds 1m in memory (BodyBufferCapped), which changes nothing on the wire."},
	{Name: "proxy-buffer-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Largest upstream response head, status line and headers (nginx size, default 4k): a larger one gets 502, as nginx's \"upstream sent too big header\", and counts as invalid_header for proxy-next-upstream. With proxy-buffering it also sizes the memory buffers. At most 1m (ProxyBufferSizeCapped). Counted byte for byte on plain-HTTP/1.1 requests without a body, otherwise from the parsed head as `Name: value` lines."},
	{Name: "proxy-buffers-number", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "With proxy-buffering on, the memory read ahead of the client is this many proxy-buffer-size buffers (default 4; moat holds at most 1m in memory and puts the rest in the temporary file)."},
	{Name: "proxy-max-temp-file-size", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "With proxy-buffering on, how much of a response goes to a temporary file once the memory buffers are full (default 1024m); 0: no file, the upstream waits for the client."},
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
			"moat holds at most 1m of a request body in memory; the rest of a buffered body goes to a temporary file, as it would past nginx's buffer")
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
