package fcgi

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// variables evaluate vartemplate.FastCGIVars (TestEveryVariableIsKnown keeps
// the two lists together).
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

// expand evaluates a parameter value for the request.
func expand(t vartemplate.Template, v *vars) string {
	if len(t) == 1 && t[0].Var == "" {
		return t[0].Literal
	}
	var b strings.Builder
	for _, p := range t {
		if p.Var == "" {
			b.WriteString(p.Literal)
		} else if f := variables[p.Var]; f != nil {
			b.WriteString(f(v))
		}
	}
	return b.String()
}

// vars are the request's nginx variables.
type vars struct {
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

func varsFor(r *http.Request, index string, length int64, server net.Addr) *vars {
	v := &vars{
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
	if server != nil {
		v.serverAddr, v.serverPort, _ = net.SplitHostPort(server.String())
	}
	return v
}
