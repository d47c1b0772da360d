package routecfg

// Body is how request and response bodies are handled (proxy-body-size
// and the buffering annotations). translate fills every field, taking
// the controller defaults for the keys the Ingress does not set.
type Body struct {
	// MaxBytes is the largest request body accepted (413 above it);
	// 0 means unlimited.
	MaxBytes int64
	// ResponseBuffering (proxy-buffering: on) holds the response in
	// moat's write buffer instead of flushing each upstream write;
	// X-Accel-Buffering from the upstream overrides it either way.
	ResponseBuffering bool
	// RequestBuffering (proxy-request-buffering: on) reads request bodies
	// of up to BufferBytes whole before the upstream is contacted, so a
	// failed attempt can send them again; larger ones are streamed.
	RequestBuffering bool
	// BufferBytes is client-body-buffer-size: how much of a buffered
	// request body is held in memory; the rest goes to a temporary file.
	BufferBytes int64
	// ResponseHeaderMax is proxy-buffer-size: an upstream response head
	// (status line and headers) larger than it is answered 502.
	ResponseHeaderMax int64
	// ResponseBuffers (proxy-buffers-number × proxy-buffer-size, at most
	// 1m) and MaxTempFile (proxy-max-temp-file-size) bound what
	// ResponseBuffering reads ahead of the client, in memory and in a
	// temporary file. BuffersNumber is proxy-buffers-number.
	ResponseBuffers int64
	BuffersNumber   int64
	MaxTempFile     int64
}
