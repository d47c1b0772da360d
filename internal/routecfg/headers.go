package routecfg

// Headers are the header changes of custom-headers, connection-proxy-header,
// proxy-http-version, x-forwarded-prefix and the literal snippet subset.
// Values are constants checked by translate; nothing is templated.
type Headers struct {
	// Input changes the client's request before any other step, as
	// more_set_input_headers (auth sub-requests see it too).
	Input []Header
	// Upstream sets headers on the proxied request (proxy_set_header);
	// an empty value removes the header.
	Upstream []Header
	// UpstreamAdd appends values to the proxied request's headers
	// (Gateway API RequestHeaderModifier add).
	UpstreamAdd []Header
	// UpstreamHost replaces the proxied request's Host (URLRewrite
	// hostname); "" keeps it.
	UpstreamHost string
	// Set replaces response headers on every response (more_set_headers).
	Set []Header
	// Add appends response headers to 2xx and 3xx responses, or to all
	// with Always (nginx add_header).
	Add []Header
	// Connection is the Connection header sent upstream
	// (connection-proxy-header); "" keeps moat's default.
	Connection string
	// HTTP10 asks for proxy-http-version 1.0: the upstream connection is
	// not reused.
	HTTP10 bool
	// XForwardedPrefix is sent as X-Forwarded-Prefix when the route's
	// rewrite applies (ingress-nginx only sets it with rewrite-target).
	XForwardedPrefix string
}

// Header is one header name and constant value.
type Header struct {
	Name, Value string
	// Always: add_header ... always.
	Always bool
}

// Empty reports whether h changes nothing.
func (h *Headers) Empty() bool {
	return h == nil || (len(h.Input) == 0 && len(h.Upstream) == 0 && len(h.Set) == 0 && len(h.Add) == 0 &&
		h.Connection == "" && !h.HTTP10 && h.XForwardedPrefix == "" && len(h.UpstreamAdd) == 0 && h.UpstreamHost == "")
}
