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
	// BufferBytes is client-body-buffer-size.
	BufferBytes int64
}
