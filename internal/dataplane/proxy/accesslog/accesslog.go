// Package accesslog writes the access-log line of one request: the
// configuration's log-format-upstream, variable by variable as nginx
// logs them, or moat's JSON line. Lines are built by hand (no
// encoding/json, no fmt) so logging a request does not allocate.
package accesslog

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// Entry is what the access log reports about one request.
type Entry struct {
	Req        *http.Request
	Start, End time.Time
	Status     int
	// Remote is $remote_addr, the address moat trusted; when invalid,
	// Req.RemoteAddr is logged.
	Remote netip.Addr
	// ServerPort is $server_port; URI is $uri (the rewritten path when
	// a rewrite applied).
	ServerPort, URI string
	// BodyBytes is the response body's length; Header the response
	// header as sent (nil when there was no writer).
	BodyBytes int64
	Header    http.Header
	VHost     *routecfg.VirtualHost
	Route     *routecfg.Route
	// Unmatched: the default backend answered what no rule matched.
	Unmatched bool
	// Canary is the route's canary when it served the request.
	Canary *routecfg.Canary
	// Upstream: an upstream was tried; UpstreamFailed: it gave no
	// response (UpstreamStatus is then the 502 or 504 answered).
	Upstream, UpstreamFailed bool
	UpstreamStatus           int
	// UpstreamAddr is the endpoint's address ("" when none was picked).
	UpstreamAddr string
	// AttemptStart is the start of the last attempt; Connect and
	// HeaderTime its connect and response-header times.
	AttemptStart        time.Time
	Connect, HeaderTime time.Duration
	RequestID           string
	// ProxyProtocol is the request's connection when it started with a
	// PROXY header (nil without one); its addresses are asked only when
	// the format logs them.
	ProxyProtocol interface {
		Addresses() (src, dst netip.AddrPort, ok bool)
	}
}

// AppendFormat appends one line in format f: its steps in turn, each
// variable's value escaped as f says.
func AppendFormat(b []byte, f *logformat.Format, e *Entry) []byte {
	for i := range f.Steps {
		s := &f.Steps[i]
		if s.Var == logformat.Literal {
			b = append(b, s.Literal...)
			continue
		}
		b = AppendVar(b, s, f.Escape, e)
	}
	return append(b, '\n')
}

// served names the Service that served the request: the canary's when
// the canary was chosen, else the route's.
func (e *Entry) served() *routecfg.Source {
	if e.Canary != nil {
		return &e.Canary.Source
	}
	return &e.Route.Source
}

// appendProxyProtocolVar appends nginx's $proxy_protocol_addr, _port,
// _server_addr or _server_port: the header's addresses, "-" without one.
func appendProxyProtocolVar(b []byte, v logformat.Var, e *Entry, esc logformat.Escape) []byte {
	if e.ProxyProtocol == nil {
		return missing(b, esc)
	}
	src, dst, ok := e.ProxyProtocol.Addresses()
	if !ok {
		return missing(b, esc)
	}
	switch v {
	case logformat.ProxyProtocolAddr:
		return src.Addr().AppendTo(b)
	case logformat.ProxyProtocolPort:
		return strconv.AppendUint(b, uint64(src.Port()), 10)
	case logformat.ProxyProtocolServerAddr:
		return dst.Addr().AppendTo(b)
	}
	return strconv.AppendUint(b, uint64(dst.Port()), 10)
}

// AppendVar appends one variable as nginx would log it.
func AppendVar(b []byte, s *logformat.Step, esc logformat.Escape, e *Entry) []byte {
	r, rt, up := e.Req, e.Route, e.Upstream
	switch s.Var {
	case logformat.RemoteAddr:
		if a := e.Remote; a.IsValid() {
			return a.AppendTo(b)
		}
		return appendEsc(b, r.RemoteAddr, esc)
	case logformat.RemotePort:
		if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return append(b, p...)
		}
		return missing(b, esc)
	case logformat.RemoteUser:
		if u, _, ok := r.BasicAuth(); ok {
			return appendEsc(b, u, esc)
		}
		return missing(b, esc)
	case logformat.TimeLocal:
		return e.End.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	case logformat.TimeISO8601:
		return e.End.AppendFormat(b, "2006-01-02T15:04:05-07:00")
	case logformat.Msec:
		ms := e.End.UnixMilli()
		b = strconv.AppendInt(b, ms/1000, 10)
		b = append(b, '.', byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
		return b
	case logformat.Request:
		b = appendEsc(b, r.Method, esc)
		b = append(b, ' ')
		b = appendEsc(b, r.RequestURI, esc)
		b = append(b, ' ')
		return appendEsc(b, r.Proto, esc)
	case logformat.RequestMethod:
		return appendEsc(b, r.Method, esc)
	case logformat.RequestURI:
		return appendEsc(b, r.RequestURI, esc)
	case logformat.URI:
		return appendEsc(b, e.URI, esc)
	case logformat.Args:
		if r.URL.RawQuery == "" && !r.URL.ForceQuery {
			return missing(b, esc)
		}
		return appendEsc(b, r.URL.RawQuery, esc)
	case logformat.Scheme:
		if r.TLS != nil {
			return append(b, "https"...)
		}
		return append(b, "http"...)
	case logformat.ServerProtocol:
		return appendEsc(b, r.Proto, esc)
	case logformat.ServerPort:
		return append(b, e.ServerPort...)
	case logformat.Status:
		return strconv.AppendInt(b, int64(e.Status), 10)
	case logformat.BodyBytesSent:
		return strconv.AppendInt(b, e.BodyBytes, 10)
	case logformat.BytesSent:
		return strconv.AppendInt(b, BytesSent(e.Header, e.BodyBytes), 10)
	case logformat.HTTPHeader:
		return appendHeader(b, r, s.Header, esc)
	case logformat.RequestLength:
		return strconv.AppendInt(b, RequestLength(r), 10)
	case logformat.RequestTime:
		return appendSeconds(b, e.End.Sub(e.Start))
	case logformat.ProxyUpstreamName:
		if rt == nil || e.Unmatched {
			// ingress-nginx's default backend answers what no rule matches.
			return append(b, "upstream-default-backend"...)
		}
		return appendUpstreamName(b, &rt.Source, esc)
	case logformat.ProxyAlternativeUpstreamName:
		if c := e.Canary; c != nil {
			return appendUpstreamName(b, &c.Source, esc)
		}
		return b
	case logformat.UpstreamAddr:
		if !up || e.UpstreamAddr == "" {
			return missing(b, esc)
		}
		return appendEsc(b, e.UpstreamAddr, esc)
	case logformat.UpstreamResponseLength:
		if !up {
			return missing(b, esc)
		}
		return strconv.AppendInt(b, e.BodyBytes, 10)
	case logformat.UpstreamResponseTime:
		if !up {
			return missing(b, esc)
		}
		return appendSeconds(b, e.End.Sub(e.AttemptStart))
	case logformat.UpstreamConnectTime:
		if !up || e.UpstreamFailed {
			return missing(b, esc)
		}
		return appendSeconds(b, e.Connect)
	case logformat.UpstreamHeaderTime:
		if !up || e.UpstreamFailed {
			return missing(b, esc)
		}
		return appendSeconds(b, e.HeaderTime)
	case logformat.UpstreamStatus:
		if !up {
			return missing(b, esc)
		}
		return strconv.AppendInt(b, int64(e.UpstreamStatus), 10)
	case logformat.ReqID:
		return appendEsc(b, e.RequestID, esc)
	case logformat.Host:
		return appendHost(b, r.Host, e.VHost, esc)
	case logformat.ServerName:
		if e.VHost == nil || e.VHost.Host == "" {
			return append(b, '_')
		}
		return appendEsc(b, e.VHost.Host, esc)
	case logformat.Namespace, logformat.IngressName, logformat.ServiceName, logformat.ServicePort, logformat.LocationPath:
		if rt == nil {
			return b // ingress-nginx sets them to "" outside an Ingress's location
		}
		src := e.served()
		switch s.Var {
		case logformat.Namespace:
			return appendEsc(b, rt.Source.Namespace, esc)
		case logformat.IngressName:
			return appendEsc(b, rt.Source.Ingress, esc)
		case logformat.ServiceName:
			return appendEsc(b, src.Service, esc)
		case logformat.ServicePort:
			return appendEsc(b, src.Port, esc)
		}
		return appendEsc(b, rt.Path, esc)
	case logformat.SSLProtocol:
		if r.TLS == nil {
			return missing(b, esc)
		}
		return append(b, tlsVersionName(r.TLS.Version)...)
	case logformat.SSLCipher:
		if r.TLS == nil {
			return missing(b, esc)
		}
		return append(b, cipherName(r.TLS.CipherSuite)...)
	case logformat.ProxyProtocolAddr, logformat.ProxyProtocolPort, logformat.ProxyProtocolServerAddr, logformat.ProxyProtocolServerPort:
		return appendProxyProtocolVar(b, s.Var, e, esc)
	}
	return missing(b, esc)
}

// missing is nginx's value for a variable that is not set: "-" with the
// default escaping, nothing with escape=json and escape=none.
func missing(b []byte, esc logformat.Escape) []byte {
	if esc == logformat.EscapeDefault {
		return append(b, '-')
	}
	return b
}

// appendEsc appends v escaped as nginx's log_format escape= does.
func appendEsc(b []byte, v string, esc logformat.Escape) []byte {
	switch esc {
	case logformat.EscapeJSON:
		return appendJSONContent(b, v)
	case logformat.EscapeNone:
		return append(b, v...)
	}
	// ngx_http_log_escape: ", \, control bytes, DEL and non-ASCII as \xHH.
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		b = append(b, v[start:i]...)
		b = append(b, '\\', 'x', upperHex[c>>4], upperHex[c&0xf])
		start = i + 1
	}
	return append(b, v[start:]...)
}

const upperHex = "0123456789ABCDEF"

// appendHeader appends $http_<name>: the header's values joined with
// ", " ("; " for Cookie), as nginx does since 1.23; Host is r.Host.
func appendHeader(b []byte, r *http.Request, name string, esc logformat.Escape) []byte {
	if name == "Host" {
		if r.Host == "" {
			return missing(b, esc)
		}
		return appendEsc(b, r.Host, esc)
	}
	vs := r.Header[name]
	if len(vs) == 0 {
		return missing(b, esc)
	}
	sep := ", "
	if name == "Cookie" {
		sep = "; "
	}
	for i, v := range vs {
		if i > 0 {
			b = append(b, sep...)
		}
		b = appendEsc(b, v, esc)
	}
	return b
}

// appendHost is nginx's $host: the Host header in lower case without
// its port, else the server name.
func appendHost(b []byte, host string, vh *routecfg.VirtualHost, esc logformat.Escape) []byte {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		if vh == nil || vh.Host == "" {
			return append(b, '_')
		}
		host = vh.Host
	}
	n := len(b)
	b = appendEsc(b, host, esc)
	for i := n; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return b
}

// appendUpstreamName appends ingress-nginx's upstream name,
// namespace-service-port.
func appendUpstreamName(b []byte, src *routecfg.Source, esc logformat.Escape) []byte {
	if src.Service == "" {
		return missing(b, esc)
	}
	b = appendEsc(b, src.Namespace, esc)
	b = append(b, '-')
	b = appendEsc(b, src.Service, esc)
	b = append(b, '-')
	return appendEsc(b, src.Port, esc)
}

// appendSeconds appends d in seconds with millisecond resolution, as
// nginx's $request_time.
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	ms := d.Milliseconds()
	b = strconv.AppendInt(b, ms/1000, 10)
	return append(b, '.', byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return "unknown"
}

// cipherName is OpenSSL's name for a cipher suite, as nginx's
// $ssl_cipher shows it (TLS 1.3 suites keep their IANA names there).
func cipherName(id uint16) string {
	switch id {
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-RSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305"
	}
	return tls.CipherSuiteName(id)
}

// AppendJSON appends moat's JSON line (--access-log-format=json):
//
//	{"time":…,"client":…,"host":…,"method":…,"path":…,"status":…,"bytes":…,
//	 "duration_ms":…,"upstream":…,"ingress":"ns/name","service":"ns/svc","request_id":…}
//
// client is the address moat trusted ($remote_addr); service is the
// canary's when the canary served the request.
func AppendJSON(b []byte, e *Entry) []byte {
	r := e.Req
	b = append(b, `{"time":"`...)
	b = e.Start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","client":"`...)
	if a := e.Remote; a.IsValid() {
		b = a.AppendTo(b)
	} else {
		b = appendJSONContent(b, r.RemoteAddr)
	}
	b = append(b, `","host":`...)
	b = appendJSONString(b, r.Host)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.URL.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.BodyBytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(e.End.Sub(e.Start).Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"upstream":`...)
	if e.UpstreamAddr != "" {
		b = appendJSONString(b, e.UpstreamAddr)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `,"ingress":`...)
	if e.Route != nil {
		b = appendRef(b, e.Route.Source.Namespace, e.Route.Source.Ingress)
		b = append(b, `,"service":`...)
		src := e.served()
		b = appendRef(b, src.Namespace, src.Service)
	} else {
		b = append(b, `"","service":""`...)
	}
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, e.RequestID)
	return append(b, "}\n"...)
}

// appendRef appends "namespace/name" as a JSON string, or "" when name is
// empty.
func appendRef(b []byte, ns, name string) []byte {
	if name == "" {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = appendJSONContent(b, ns)
	b = append(b, '/')
	b = appendJSONContent(b, name)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONContent(b, s)
	return append(b, '"')
}

// appendJSONContent appends s escaped for inside a JSON string. Invalid
// UTF-8 becomes U+FFFD so a client cannot break the line format.
func appendJSONContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// RequestLength is nginx's $request_length: request line, header and
// body. A body of unknown length (chunked) is not counted.
func RequestLength(r *http.Request) int64 {
	n := int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4)
	if r.Host != "" {
		n += int64(len("Host: \r\n") + len(r.Host))
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	n += 2
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}

// BytesSent is nginx's $bytes_sent: the response header (status line,
// the header fields hdr, and the Date net/http adds) and body.
func BytesSent(hdr http.Header, body int64) int64 {
	if hdr == nil {
		return body
	}
	n := int64(len("HTTP/1.1 200 OK\r\n") + len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n") + 2)
	for k, vs := range hdr {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	return n + body
}

// logBuffers recycles access-log line buffers; lines are built by hand
// (no encoding/json, no fmt) so logging a request does not allocate.
var logBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// DefaultFormat is ingress-nginx's default log-format-upstream, compiled
// once; configurations without a ConfigMap use it. Never modified.
var DefaultFormat = func() *logformat.Format {
	f, err := logformat.Parse(logformat.Default, logformat.EscapeDefault)
	if err != nil {
		panic(err)
	}
	return &f
}()

// Writer writes one line per request with a single Write call: the
// configuration's log-format-upstream, or moat's JSON. A failing sink
// never fails requests: its errors are counted and the first is logged.
type Writer struct {
	w      io.Writer
	json   bool
	logger *slog.Logger
	count  func()
	failed atomic.Bool
}

// NewWriter returns a Writer to w (which must be safe for concurrent
// use); json selects moat's JSON lines. count is called on each failed
// write (may be nil), logger told of the first. A w that writes in the
// background (linebuf) reports its failures through SetErrorHandler.
func NewWriter(w io.Writer, json bool, logger *slog.Logger, count func()) *Writer {
	lw := &Writer{w: w, json: json, logger: logger, count: count}
	if eh, ok := w.(interface{ SetErrorHandler(func(error)) }); ok {
		eh.SetErrorHandler(lw.Failed)
	}
	return lw
}

// Write writes e's line in format f (nil: DefaultFormat) or as JSON.
func (lw *Writer) Write(e *Entry, f *logformat.Format) {
	bp := logBuffers.Get().(*[]byte)
	var b []byte
	if lw.json {
		b = AppendJSON((*bp)[:0], e)
	} else {
		if f == nil {
			f = DefaultFormat
		}
		b = AppendFormat((*bp)[:0], f, e)
	}
	if _, err := lw.w.Write(b); err != nil {
		lw.Failed(err)
	}
	*bp = b
	logBuffers.Put(bp)
}

// Failed counts a failed write and reports the first one (a full disk
// would otherwise make a log line per request).
func (lw *Writer) Failed(err error) {
	if lw.count != nil {
		lw.count()
	}
	if lw.failed.CompareAndSwap(false, true) {
		lw.logger.Warn("writing the access log failed; its lines are lost until it works again, and each failure is counted in moat_access_log_write_errors_total",
			"error", err)
	}
}

// Logged applies disable-access-log and skip-access-log-urls
// (matched against the request URI as sent, nginx's $request_uri).
func Logged(g *global.Settings, r *http.Request) bool {
	if g == nil {
		return true
	}
	if g.DisableAccessLog {
		return false
	}
	for _, m := range g.SkipAccessLogURIs {
		if m.Match(r.RequestURI) {
			return false
		}
	}
	return true
}

// DefaultBackendLogged: requests answered by ingress-nginx's default
// server (no Ingress host matched, and no catch-all path) are logged only
// with enable-access-log-for-default-backend.
func DefaultBackendLogged(g *global.Settings) bool { return g != nil && g.AccessLogDefaultBackend }
