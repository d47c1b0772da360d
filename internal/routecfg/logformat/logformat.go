// Package logformat is the access-log format language: nginx's log_format
// syntax compiled once per configuration into steps the data plane appends
// in turn. It is apart from routecfg because it is a small language of its
// own (the variables, their escaping, the parser), shared by the access log
// and the tracing operation name, and routecfg only holds its result.
package logformat

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Format is log-format-upstream compiled once per configuration: the
// data plane appends each step in turn, so a request never parses or
// templates the format (nginx compiles log_format the same way).
type Format struct {
	Steps  []Step
	Escape Escape
}

// Step is a literal, or a variable when Var is not Literal.
type Step struct {
	Var     Var
	Literal string
	// Header is the canonical request header of $http_<name>.
	Header string
}

// Escape is nginx's log_format escape= parameter.
type Escape uint8

const (
	// EscapeDefault escapes ", \, control and non-ASCII bytes as \xHH;
	// a missing value is "-".
	EscapeDefault Escape = iota
	// EscapeJSON escapes for inside a JSON string (log-format-escape-json);
	// a missing value is empty.
	EscapeJSON
	// EscapeNone writes values as they are (log-format-escape-none);
	// a missing value is empty.
	EscapeNone
)

// Var is one nginx variable the access log knows.
type Var uint8

// The variables; Literal marks a literal step.
const (
	Literal Var = iota
	RemoteAddr
	RemotePort
	RemoteUser
	TimeLocal
	TimeISO8601
	Msec
	Request
	RequestMethod
	RequestURI
	URI
	Args
	Scheme
	ServerProtocol
	ServerPort
	Status
	BodyBytesSent
	BytesSent
	HTTPHeader
	RequestLength
	RequestTime
	ProxyUpstreamName
	ProxyAlternativeUpstreamName
	UpstreamAddr
	UpstreamResponseLength
	UpstreamResponseTime
	UpstreamConnectTime
	UpstreamHeaderTime
	UpstreamStatus
	ReqID
	Host
	ServerName
	Namespace
	IngressName
	ServiceName
	ServicePort
	LocationPath
	SSLProtocol
	SSLCipher
	// The PROXY header's addresses (use-proxy-protocol); "-" without one.
	ProxyProtocolAddr
	ProxyProtocolPort
	ProxyProtocolServerAddr
	ProxyProtocolServerPort
)

// logVars names the variables; $query_string and $request_id are nginx's
// aliases of $args and ingress-nginx's $req_id.
var logVars = map[string]Var{
	"remote_addr": RemoteAddr, "remote_port": RemotePort, "remote_user": RemoteUser,
	"time_local": TimeLocal, "time_iso8601": TimeISO8601, "msec": Msec,
	"request": Request, "request_method": RequestMethod, "request_uri": RequestURI,
	"uri": URI, "document_uri": URI, "args": Args, "query_string": Args,
	"scheme": Scheme, "server_protocol": ServerProtocol, "server_port": ServerPort,
	"status": Status, "body_bytes_sent": BodyBytesSent, "bytes_sent": BytesSent,
	"request_length": RequestLength, "request_time": RequestTime,
	"proxy_upstream_name": ProxyUpstreamName, "proxy_alternative_upstream_name": ProxyAlternativeUpstreamName,
	"upstream_addr": UpstreamAddr, "upstream_response_length": UpstreamResponseLength,
	"upstream_response_time": UpstreamResponseTime, "upstream_connect_time": UpstreamConnectTime,
	"upstream_header_time": UpstreamHeaderTime, "upstream_status": UpstreamStatus,
	"req_id": ReqID, "request_id": ReqID, "host": Host, "server_name": ServerName,
	"namespace": Namespace, "ingress_name": IngressName, "service_name": ServiceName,
	"service_port": ServicePort, "location_path": LocationPath,
	"ssl_protocol": SSLProtocol, "ssl_cipher": SSLCipher,
	"proxy_protocol_addr": ProxyProtocolAddr, "proxy_protocol_port": ProxyProtocolPort,
	"proxy_protocol_server_addr": ProxyProtocolServerAddr, "proxy_protocol_server_port": ProxyProtocolServerPort,
}

// Variables lists the variable names Parse accepts, besides
// $http_<name>.
func Variables() []string {
	out := make([]string, 0, len(logVars))
	for k := range logVars {
		out = append(out, k)
	}
	return out
}

// Default is ingress-nginx's default log-format-upstream
// (internal/ingress/controller/config/config.go).
const Default = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id`

// Parse compiles an nginx log_format string: "$name" or
// "${name}" is a variable (name of letters, digits and '_', as nginx
// reads it), everything else is literal. An unknown variable is an error
// naming it.
func Parse(s string, esc Escape) (Format, error) {
	f := Format{Escape: esc}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Steps = append(f.Steps, Step{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		i++
		var name string
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return Format{}, fmt.Errorf("the variable at %q lacks its closing }", s[i-1:])
			}
			name = s[i+1 : i+end]
			i += end + 1
		} else {
			j := i
			for j < len(s) && isVarByte(s[j]) {
				j++
			}
			name = s[i:j]
			i = j
		}
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isVarByte(byte(r)) }) >= 0 {
			return Format{}, fmt.Errorf("invalid variable name %q after $", name)
		}
		flush()
		if v, ok := logVars[name]; ok {
			f.Steps = append(f.Steps, Step{Var: v})
			continue
		}
		if h, ok := strings.CutPrefix(name, "http_"); ok && h != "" {
			f.Steps = append(f.Steps, Step{Var: HTTPHeader, Header: http.CanonicalHeaderKey(strings.ReplaceAll(h, "_", "-"))})
			continue
		}
		return Format{}, fmt.Errorf("unknown variable $%s (moat knows $http_<name> and %s)", name, knownList())
	}
	flush()
	return f, nil
}

func isVarByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func knownList() string {
	names := Variables()
	for i := range names {
		names[i] = "$" + names[i]
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
