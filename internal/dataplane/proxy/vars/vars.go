// Package vars evaluates nginx's variables of a request: the templates
// of annotations (auth-url, auth-signin, redirects, WAF transaction IDs),
// the variable strings of upstream-hash-by and auth-cache-key, and the
// request ID. Every feature that names a variable reads it here, so
// $remote_addr or $host mean one thing everywhere.
package vars

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// Values are the variables the proxy resolves for a request, beyond what
// the request itself carries.
type Values struct {
	// BestHost is $best_http_host: Host, or a trusted X-Forwarded-Host.
	BestHost string
	// HTTPS is $pass_access_scheme == "https".
	HTTPS bool
	// Client is $remote_addr after real_ip.
	Client netip.Addr
	// Port is $server_port; RequestID $request_id.
	Port, RequestID string
}

// Remote is $remote_addr: client when resolved, else the connection's
// peer.
func Remote(r *http.Request, client netip.Addr) netip.Addr {
	if client.IsValid() {
		return client
	}
	return Peer(r)
}

// Expand appends the template with the request's variables.
func Expand(dst []byte, t vartemplate.Template, r *http.Request, v *Values) []byte {
	for _, p := range t {
		switch p.Var {
		case "":
			dst = append(dst, p.Literal...)
		case "host":
			dst = append(dst, strings.ToLower(HostWithoutPort(r.Host))...)
		case "http_host":
			dst = append(dst, r.Host...)
		case "best_http_host":
			dst = append(dst, v.BestHost...)
		case "scheme", "pass_access_scheme":
			if (p.Var == "scheme" && r.TLS != nil) || (p.Var != "scheme" && v.HTTPS) {
				dst = append(dst, "https"...)
			} else {
				dst = append(dst, "http"...)
			}
		case "request_uri":
			dst = append(dst, r.RequestURI...)
		case "escaped_request_uri":
			dst = append(dst, url.QueryEscape(r.RequestURI)...)
		case "uri":
			dst = append(dst, r.URL.Path...)
		case "args", "query_string":
			dst = append(dst, r.URL.RawQuery...)
		case "request_method":
			dst = append(dst, r.Method...)
		case "remote_addr":
			dst = append(dst, v.Client.String()...)
		case "server_port":
			dst = append(dst, v.Port...)
		case "request_id":
			dst = append(dst, v.RequestID...)
		case "http_user_agent":
			dst = append(dst, r.Header.Get("User-Agent")...)
		case "http_cookie":
			dst = append(dst, r.Header.Get("Cookie")...)
		case "http_authorization":
			dst = append(dst, r.Header.Get("Authorization")...)
		case "http_x_forwarded_for":
			dst = append(dst, r.Header.Get("X-Forwarded-For")...)
		}
	}
	return dst
}

// AppendParts appends the value of an nginx variable string; client is
// $remote_addr (invalid: the connection's peer).
func AppendParts(dst []byte, r *http.Request, client netip.Addr, parts []routecfg.HashPart) []byte {
	for _, p := range parts {
		switch p.Source {
		case routecfg.HashLiteral:
			dst = append(dst, p.Name...)
		case routecfg.HashRequestURI:
			dst = append(dst, r.RequestURI...)
		case routecfg.HashURI:
			dst = append(dst, r.URL.Path...)
		case routecfg.HashArgs:
			dst = append(dst, r.URL.RawQuery...)
		case routecfg.HashHost:
			dst = append(dst, strings.ToLower(HostWithoutPort(r.Host))...)
		case routecfg.HashRemoteAddr:
			dst = Remote(r, client).AppendTo(dst)
		case routecfg.HashRemoteUser:
			if u, _, ok := r.BasicAuth(); ok {
				dst = append(dst, u...)
			}
		case routecfg.HashHeader:
			if vs := HeaderValues(r, p.Name); len(vs) > 0 {
				dst = append(dst, vs[0]...)
			}
		case routecfg.HashCookie:
			v, _ := CookieValue(r.Header, p.Name)
			dst = append(dst, v...)
		case routecfg.HashArg:
			dst = append(dst, QueryArg(r.URL.RawQuery, p.Name)...)
		case routecfg.HashScheme:
			if r.TLS != nil {
				dst = append(dst, "https"...)
			} else {
				dst = append(dst, "http"...)
			}
		case routecfg.HashMethod:
			dst = append(dst, r.Method...)
		}
	}
	return dst
}

// Hash hashes the parts of r (upstream-hash-by) without building the
// string; client is $remote_addr (invalid: the connection's peer).
func Hash(r *http.Request, client netip.Addr, parts []routecfg.HashPart) uint64 {
	h := upstream.HashSeed
	for _, p := range parts {
		switch p.Source {
		case routecfg.HashLiteral:
			h = upstream.HashString(h, p.Name)
		case routecfg.HashRequestURI:
			h = upstream.HashString(h, r.RequestURI)
		case routecfg.HashURI:
			h = upstream.HashString(h, r.URL.Path)
		case routecfg.HashArgs:
			h = upstream.HashString(h, r.URL.RawQuery)
		case routecfg.HashHost:
			host := r.Host
			if hh, _, err := net.SplitHostPort(host); err == nil {
				host = hh
			}
			h = upstream.HashString(h, strings.ToLower(host))
		case routecfg.HashRemoteAddr:
			var buf [64]byte
			h = upstream.HashBytes(h, Remote(r, client).AppendTo(buf[:0]))
		case routecfg.HashHeader:
			if vs := HeaderValues(r, p.Name); len(vs) > 0 {
				h = upstream.HashString(h, vs[0])
			}
		case routecfg.HashCookie:
			v, _ := CookieValue(r.Header, p.Name)
			h = upstream.HashString(h, v)
		case routecfg.HashArg:
			h = upstream.HashString(h, QueryArg(r.URL.RawQuery, p.Name))
		case routecfg.HashScheme:
			if r.TLS != nil {
				h = upstream.HashString(h, "https")
			} else {
				h = upstream.HashString(h, "http")
			}
		case routecfg.HashMethod:
			h = upstream.HashString(h, r.Method)
		case routecfg.HashRemoteUser:
			u, _, _ := r.BasicAuth()
			h = upstream.HashString(h, u)
		}
	}
	return h
}

// Peer is the connection's peer address.
func Peer(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// HeaderValues is $http_name: the header's values (Host: the request's).
func HeaderValues(r *http.Request, name string) []string {
	if name == "Host" {
		return []string{r.Host}
	}
	return r.Header[name]
}

// QueryArg is nginx's $arg_name: the raw (undecoded) value of the first
// parameter named name.
func QueryArg(q, name string) string {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// CookieValue finds a cookie without parsing every cookie of the request
// (net/http's Request.Cookie allocates for all of them).
func CookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

// HostWithoutPort strips a port from a Host header, keeping an IPv6
// literal's brackets.
func HostWithoutPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[:i+1]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// maxRequestIDLen bounds an incoming X-Request-ID that is passed through.
const maxRequestIDLen = 128

// RequestID returns the client's X-Request-ID when it is well formed
// (ingress-nginx passes an incoming one through as $req_id), else a new
// 128-bit random ID as 32 hex characters, like nginx's $request_id.
func RequestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) > 0 && validRequestID(v[0]) {
		return v[0]
	}
	var raw [16]byte
	rand.Read(raw[:]) //nolint:errcheck // crypto/rand.Read never fails (it crashes instead)
	var out [32]byte
	hex.Encode(out[:], raw[:])
	return string(out[:])
}

// ClientRequestID is the client's X-Request-ID, or "" (generate-request-id
// false: ingress-nginx's $req_id is then empty without one).
func ClientRequestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) > 0 && validRequestID(v[0]) {
		return v[0]
	}
	return ""
}

// validRequestID accepts visible ASCII only, so a logged or forwarded ID
// cannot carry spaces, quotes or control characters.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// SetHeader sets a header whose value may name request variables; an
// empty result removes the header, as nginx's proxy_set_header and
// more_set_headers do.
func SetHeader(hdr http.Header, x vartemplate.Header, r *http.Request, v *Values) {
	b := Expand(nil, x.Value, r, v)
	if len(b) == 0 {
		delete(hdr, x.Name)
		return
	}
	hdr[x.Name] = []string{string(b)}
}
