package routecfg

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// LogFormat is log-format-upstream compiled once per configuration: the
// data plane appends each step in turn, so a request never parses or
// templates the format (nginx compiles log_format the same way).
type LogFormat struct {
	Steps  []LogStep
	Escape LogEscape
}

// LogStep is a literal, or a variable when Var is not LogLiteral.
type LogStep struct {
	Var     LogVar
	Literal string
	// Header is the canonical request header of $http_<name>.
	Header string
}

// LogEscape is nginx's log_format escape= parameter.
type LogEscape uint8

const (
	// LogEscapeDefault escapes ", \, control and non-ASCII bytes as \xHH;
	// a missing value is "-".
	LogEscapeDefault LogEscape = iota
	// LogEscapeJSON escapes for inside a JSON string (log-format-escape-json);
	// a missing value is empty.
	LogEscapeJSON
	// LogEscapeNone writes values as they are (log-format-escape-none);
	// a missing value is empty.
	LogEscapeNone
)

// LogVar is one nginx variable the access log knows.
type LogVar uint8

// The variables; LogLiteral marks a literal step.
const (
	LogLiteral LogVar = iota
	LogRemoteAddr
	LogRemotePort
	LogRemoteUser
	LogTimeLocal
	LogTimeISO8601
	LogMsec
	LogRequest
	LogRequestMethod
	LogRequestURI
	LogURI
	LogArgs
	LogScheme
	LogServerProtocol
	LogServerPort
	LogStatus
	LogBodyBytesSent
	LogBytesSent
	LogHTTPHeader
	LogRequestLength
	LogRequestTime
	LogProxyUpstreamName
	LogProxyAlternativeUpstreamName
	LogUpstreamAddr
	LogUpstreamResponseLength
	LogUpstreamResponseTime
	LogUpstreamConnectTime
	LogUpstreamHeaderTime
	LogUpstreamStatus
	LogReqID
	LogHost
	LogServerName
	LogNamespace
	LogIngressName
	LogServiceName
	LogServicePort
	LogLocationPath
	LogSSLProtocol
	LogSSLCipher
	// The PROXY header's addresses (use-proxy-protocol); "-" without one.
	LogProxyProtocolAddr
	LogProxyProtocolPort
	LogProxyProtocolServerAddr
	LogProxyProtocolServerPort
)

// logVars names the variables; $query_string and $request_id are nginx's
// aliases of $args and ingress-nginx's $req_id.
var logVars = map[string]LogVar{
	"remote_addr": LogRemoteAddr, "remote_port": LogRemotePort, "remote_user": LogRemoteUser,
	"time_local": LogTimeLocal, "time_iso8601": LogTimeISO8601, "msec": LogMsec,
	"request": LogRequest, "request_method": LogRequestMethod, "request_uri": LogRequestURI,
	"uri": LogURI, "document_uri": LogURI, "args": LogArgs, "query_string": LogArgs,
	"scheme": LogScheme, "server_protocol": LogServerProtocol, "server_port": LogServerPort,
	"status": LogStatus, "body_bytes_sent": LogBodyBytesSent, "bytes_sent": LogBytesSent,
	"request_length": LogRequestLength, "request_time": LogRequestTime,
	"proxy_upstream_name": LogProxyUpstreamName, "proxy_alternative_upstream_name": LogProxyAlternativeUpstreamName,
	"upstream_addr": LogUpstreamAddr, "upstream_response_length": LogUpstreamResponseLength,
	"upstream_response_time": LogUpstreamResponseTime, "upstream_connect_time": LogUpstreamConnectTime,
	"upstream_header_time": LogUpstreamHeaderTime, "upstream_status": LogUpstreamStatus,
	"req_id": LogReqID, "request_id": LogReqID, "host": LogHost, "server_name": LogServerName,
	"namespace": LogNamespace, "ingress_name": LogIngressName, "service_name": LogServiceName,
	"service_port": LogServicePort, "location_path": LogLocationPath,
	"ssl_protocol": LogSSLProtocol, "ssl_cipher": LogSSLCipher,
	"proxy_protocol_addr": LogProxyProtocolAddr, "proxy_protocol_port": LogProxyProtocolPort,
	"proxy_protocol_server_addr": LogProxyProtocolServerAddr, "proxy_protocol_server_port": LogProxyProtocolServerPort,
}

// LogVariables lists the variable names ParseLogFormat accepts, besides
// $http_<name>.
func LogVariables() []string {
	out := make([]string, 0, len(logVars))
	for k := range logVars {
		out = append(out, k)
	}
	return out
}

// DefaultLogFormat is ingress-nginx's default log-format-upstream
// (internal/ingress/controller/config/config.go).
const DefaultLogFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id`

// ParseLogFormat compiles an nginx log_format string: "$name" or
// "${name}" is a variable (name of letters, digits and '_', as nginx
// reads it), everything else is literal. An unknown variable is an error
// naming it.
func ParseLogFormat(s string, esc LogEscape) (LogFormat, error) {
	f := LogFormat{Escape: esc}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Steps = append(f.Steps, LogStep{Literal: lit.String()})
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
				return LogFormat{}, fmt.Errorf("the variable at %q lacks its closing }", s[i-1:])
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
			return LogFormat{}, fmt.Errorf("invalid variable name %q after $", name)
		}
		flush()
		if v, ok := logVars[name]; ok {
			f.Steps = append(f.Steps, LogStep{Var: v})
			continue
		}
		if h, ok := strings.CutPrefix(name, "http_"); ok && h != "" {
			f.Steps = append(f.Steps, LogStep{Var: LogHTTPHeader, Header: http.CanonicalHeaderKey(strings.ReplaceAll(h, "_", "-"))})
			continue
		}
		return LogFormat{}, fmt.Errorf("unknown variable $%s (moat knows $http_<name> and %s)", name, knownList())
	}
	flush()
	return f, nil
}

func isVarByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func knownList() string {
	names := LogVariables()
	for i := range names {
		names[i] = "$" + names[i]
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
