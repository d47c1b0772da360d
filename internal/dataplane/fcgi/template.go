package fcgi

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Template is a fastcgi_param value: literal text and nginx variables,
// parsed once from the ConfigMap and evaluated per request. Only the
// variables below are known; anything else is an error at parse time
// (nginx itself refuses a configuration with an unknown variable).
type Template struct {
	parts []part
}

type part struct {
	lit string
	v   string // variable name, when lit is ""
}

// variables are the nginx variables a FastCGI parameter may use.
var variables = map[string]func(*vars) string{
	"fastcgi_script_name": func(v *vars) string { return v.scriptName },
	"fastcgi_path_info":   func(*vars) string { return "" }, // no fastcgi_split_path_info
	"document_root":       func(*vars) string { return documentRoot },
	"realpath_root":       func(*vars) string { return documentRoot },
	"request_uri":         func(v *vars) string { return v.requestURI },
	"uri":                 func(v *vars) string { return v.uri },
	"document_uri":        func(v *vars) string { return v.uri },
	"query_string":        func(v *vars) string { return v.args },
	"args":                func(v *vars) string { return v.args },
	"is_args": func(v *vars) string {
		if v.args != "" {
			return "?"
		}
		return ""
	},
	"request_method":  func(v *vars) string { return v.method },
	"content_type":    func(v *vars) string { return v.contentType },
	"content_length":  func(v *vars) string { return v.contentLength },
	"scheme":          func(v *vars) string { return v.scheme },
	"https":           func(v *vars) string { return v.https },
	"host":            func(v *vars) string { return v.host },
	"server_name":     func(v *vars) string { return v.host },
	"server_port":     func(v *vars) string { return v.serverPort },
	"server_addr":     func(v *vars) string { return v.serverAddr },
	"server_protocol": func(v *vars) string { return v.protocol },
	"remote_addr":     func(v *vars) string { return v.remoteAddr },
	"remote_port":     func(v *vars) string { return v.remotePort },
}

// ParseTemplate parses s. "$name" and "${name}" are variables; a "$" not
// followed by a name is literal, as in nginx.
func ParseTemplate(s string) (Template, error) {
	var t Template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		var name string
		if strings.HasPrefix(s[i+1:], "{") {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return Template{}, fmt.Errorf("unterminated ${ in %q", s)
			}
			name = s[i+2 : i+2+end]
			i += 3 + end
		} else {
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name = s[i+1 : j]
			if name == "" {
				lit.WriteByte('$')
				i++
				continue
			}
			i = j
		}
		if _, ok := variables[name]; !ok && !isHeaderVar(name) {
			return Template{}, fmt.Errorf("unknown variable $%s (moat knows $fastcgi_script_name, $document_root, $request_uri, $uri, $args, $host, $http_NAME and the other request variables of nginx's fastcgi_params)", name)
		}
		flush()
		t.parts = append(t.parts, part{v: name})
	}
	flush()
	return t, nil
}

// Literal is a Template of constant text.
func Literal(s string) Template { return Template{parts: []part{{lit: s}}} }

func isHeaderVar(name string) bool {
	return strings.HasPrefix(name, "http_") && len(name) > len("http_")
}

func (t Template) expand(v *vars) string {
	if len(t.parts) == 1 && t.parts[0].v == "" {
		return t.parts[0].lit
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.v == "":
			b.WriteString(p.lit)
		case isHeaderVar(p.v):
			b.WriteString(v.header(p.v[len("http_"):]))
		default:
			b.WriteString(variables[p.v](v))
		}
	}
	return b.String()
}

// vars are the request's nginx variables.
type vars struct {
	r             *http.Request
	method        string
	requestURI    string
	uri           string
	args          string
	scriptName    string
	scheme        string
	https         string
	host          string
	protocol      string
	contentType   string
	contentLength string
	remoteAddr    string
	remotePort    string
	serverAddr    string
	serverPort    string
}

func varsFor(r *http.Request, index string, length int64) *vars {
	v := &vars{
		r:           r,
		method:      r.Method,
		requestURI:  r.URL.RequestURI(),
		uri:         r.URL.Path,
		args:        r.URL.RawQuery,
		scheme:      "http",
		host:        r.Host,
		protocol:    "HTTP/1.1",
		contentType: r.Header.Get("Content-Type"),
	}
	if length > 0 {
		v.contentLength = fmt.Sprint(length)
	}
	if v.uri == "" {
		v.uri = "/"
	}
	v.scriptName = v.uri
	if strings.HasSuffix(v.uri, "/") {
		v.scriptName += index
	}
	if r.TLS != nil {
		v.scheme, v.https = "https", "on"
	}
	if h, _, err := net.SplitHostPort(v.host); err == nil {
		v.host = h
	}
	v.remoteAddr, v.remotePort, _ = net.SplitHostPort(r.RemoteAddr)
	if ip := r.Header.Get("X-Real-Ip"); ip != "" {
		// The proxy's resolved client address (use-forwarded-headers,
		// proxy-real-ip-cidr), like nginx's $remote_addr after realip.
		v.remoteAddr = ip
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		v.serverAddr, v.serverPort, _ = net.SplitHostPort(a.String())
	}
	return v
}

// header is $http_NAME: the request header with "_" for "-".
func (v *vars) header(name string) string {
	return strings.Join(v.r.Header.Values(strings.ReplaceAll(name, "_", "-")), ", ")
}
