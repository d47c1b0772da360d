// Package vartemplate is moat's templated strings: literal text and a closed
// set of request variables, parsed once when a configuration is translated and expanded per
// request by the data plane. It is apart from routecfg because the routes,
// the auth settings and the ConfigMap's global headers all use it, and it
// has its own variable lists.
package vartemplate

// Template is a string with a closed set of request variables, parsed by
// translate from nginx syntax ($host, ${host}). Nothing else is expanded:
// it is not a template language, and unknown variables are refused.
type Template []Part

// Part is a literal or one variable.
type Part struct {
	Literal string
	// Var is one of Vars, or "" for a literal.
	Var string
}

// Vars are the variables a Template may use, as nginx names them.
var Vars = []string{
	"host", "http_host", "best_http_host", "scheme", "pass_access_scheme",
	"request_uri", "escaped_request_uri", "uri", "args", "query_string",
	"request_method", "remote_addr", "server_port", "request_id", "http_user_agent",
	"http_cookie", "http_authorization", "http_x_forwarded_for",
}

// FastCGIVars are the variables a fastcgi-params-configmap value may use:
// those of nginx's fastcgi_params file and $fastcgi_script_name.
var FastCGIVars = []string{
	"fastcgi_script_name", "fastcgi_path_info", "document_root", "realpath_root",
	"request_uri", "uri", "document_uri", "query_string", "args", "is_args",
	"request_method", "content_type", "content_length", "scheme", "https",
	"host", "server_name", "server_port", "server_addr", "server_protocol",
	"remote_addr", "remote_port",
}

// IsZero reports an empty template.
func (t Template) IsZero() bool { return len(t) == 0 }

// String renders the template back in nginx syntax.
func (t Template) String() string {
	s := ""
	for _, p := range t {
		if p.Var != "" {
			s += "${" + p.Var + "}"
		} else {
			s += p.Literal
		}
	}
	return s
}

// Header is a header with a templated value.
type Header struct {
	Name  string
	Value Template
}
