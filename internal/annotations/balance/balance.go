// Package balance parses how a route picks an endpoint and talks to it:
// load-balance, upstream-hash-by (and its subsets), service-upstream and
// upstream-vhost.
package balance

import (
	"fmt"
	"net/textproto"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// DefaultSubsetSize is ingress-nginx's upstream-hash-by-subset-size.
const DefaultSubsetSize = 3

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "load-balance", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "`round_robin` (default) or `ewma` (the better of two random endpoints by decaying average response time, as ingress-nginx's Lua balancer)."},
	{Name: "upstream-hash-by", Scope: annotations.ScopeLocation, Risk: "High", Status: annotations.Supported,
		Doc: "Consistent hashing (rendezvous) on a key built from nginx variables: $request_uri, $uri, $args, $host, $remote_addr, $binary_remote_addr, $remote_user, $scheme, $request_method, $http_NAME, $cookie_NAME, $arg_NAME and literal text. The key is parsed once, never templated; other variables are reported. Affinity wins over it."},
	{Name: "upstream-hash-by-subset", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Hash onto subsets of endpoints and pick one at random inside the subset."},
	{Name: "upstream-hash-by-subset-size", Needs: annotations.RequiresTrue("upstream-hash-by-subset", "HashSubsetNotEnabled"), Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Endpoints per subset; default 3."},
	{Name: "service-upstream", Scope: annotations.ScopeIngress, Risk: "Low", Status: annotations.Supported,
		Doc: "Send traffic to the Service's cluster IP and port instead of its endpoints (kube-proxy balances); headless Services keep their endpoints."},
	{Name: "upstream-vhost", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Host header sent to the upstream (a literal host[:port]; nginx variables are reported, not interpolated). X-Forwarded-Host keeps the client's."},
}

// Parse reads the family; nil when no key is set.
func Parse(r *annotations.Reader) *routecfg.Balance {
	if !nginxval.Set(r, "load-balance", "upstream-hash-by", "upstream-hash-by-subset", "upstream-hash-by-subset-size", "service-upstream", "upstream-vhost") {
		return nil
	}
	b := &routecfg.Balance{}
	if v, ok := r.Raw("load-balance"); ok {
		switch strings.TrimSpace(v) {
		case "round_robin":
		case "ewma":
			b.Algorithm = routecfg.EWMA
		case "ip_hash":
			r.Invalid("load-balance", v, `ip_hash was removed from ingress-nginx; use upstream-hash-by: "$binary_remote_addr"`)
		default:
			r.Invalid("load-balance", v, "expected round_robin or ewma")
		}
	}
	if v, ok := r.Raw("upstream-hash-by"); ok && strings.TrimSpace(v) != "" {
		parts, err := ParseHashKey(strings.TrimSpace(v))
		if err != nil {
			r.Invalid("upstream-hash-by", v, err.Error())
		} else {
			b.HashBy = parts
		}
	}
	subset := r.Bool("upstream-hash-by-subset", false)
	size, _ := nginxval.Int(r, "upstream-hash-by-subset-size", DefaultSubsetSize, 1, 1000)
	if subset {
		if b.HashBy == nil {
			nginxval.Warn(r, "upstream-hash-by-subset", "HashSubsetWithoutKey", "upstream-hash-by-subset has no effect without upstream-hash-by")
		} else {
			b.HashSubsetSize = size
		}
	}
	b.ServiceUpstream = r.Bool("service-upstream", false)
	if v, ok := r.Raw("upstream-vhost"); ok {
		t := strings.TrimSpace(v)
		switch {
		case strings.Contains(t, "$"):
			r.Invalid("upstream-vhost", v, "nginx variables are not interpolated by moat; use a literal host name")
		case !validVHost(t):
			r.Invalid("upstream-vhost", v, "expected a host name, optionally with :port")
		default:
			b.UpstreamVHost = t
		}
	}
	return b
}

func validVHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '_' || c == '[' || c == ']'
		if !ok {
			return false
		}
	}
	return true
}

// ParseHashKey splits an nginx variable string ("$host$request_uri",
// "user-$http_x_user", "${cookie_sid}") into typed parts; a key without a
// variable is refused (every request would go to one endpoint).
func ParseHashKey(s string) ([]routecfg.HashPart, error) {
	parts, err := ParseVarString(s)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.Source != routecfg.HashLiteral {
			return parts, nil
		}
	}
	return nil, fmt.Errorf("the key has no variable, so every request would go to the same endpoint")
}

// ParseVarString splits an nginx variable string into literal text and
// the request variables moat evaluates itself; any other variable is an
// error.
func ParseVarString(s string) ([]routecfg.HashPart, error) {
	var parts []routecfg.HashPart
	lit := func(t string) {
		if t == "" {
			return
		}
		if n := len(parts); n > 0 && parts[n-1].Source == routecfg.HashLiteral {
			parts[n-1].Name += t
			return
		}
		parts = append(parts, routecfg.HashPart{Source: routecfg.HashLiteral, Name: t})
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit(s[i:])
			break
		}
		lit(s[i : i+j])
		i += j + 1
		var name string
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ${ in %q", s)
			}
			name, i = s[i+1:i+end], i+end+1
		} else {
			k := i
			for k < len(s) && isVarChar(s[k]) {
				k++
			}
			name, i = s[i:k], k
		}
		p, err := variable(name)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func isVarChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func variable(name string) (routecfg.HashPart, error) {
	switch name {
	case "request_uri":
		return routecfg.HashPart{Source: routecfg.HashRequestURI}, nil
	case "uri", "document_uri":
		return routecfg.HashPart{Source: routecfg.HashURI}, nil
	case "args", "query_string":
		return routecfg.HashPart{Source: routecfg.HashArgs}, nil
	case "host":
		return routecfg.HashPart{Source: routecfg.HashHost}, nil
	case "remote_addr", "binary_remote_addr":
		return routecfg.HashPart{Source: routecfg.HashRemoteAddr}, nil
	case "scheme":
		return routecfg.HashPart{Source: routecfg.HashScheme}, nil
	case "request_method":
		return routecfg.HashPart{Source: routecfg.HashMethod}, nil
	case "remote_user":
		return routecfg.HashPart{Source: routecfg.HashRemoteUser}, nil
	}
	for prefix, src := range map[string]routecfg.HashSource{"http_": routecfg.HashHeader, "cookie_": routecfg.HashCookie, "arg_": routecfg.HashArg} {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			if src == routecfg.HashHeader {
				// nginx's $http_x_user is the header X-User.
				rest = textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(rest, "_", "-"))
			}
			return routecfg.HashPart{Source: src, Name: rest}, nil
		}
	}
	if name == "" {
		return routecfg.HashPart{}, fmt.Errorf("a $ without a variable name")
	}
	return routecfg.HashPart{}, fmt.Errorf("variable $%s is not supported (supported: $request_uri, $uri, $args, $host, $remote_addr, $binary_remote_addr, $remote_user, $scheme, $request_method, $http_NAME, $cookie_NAME, $arg_NAME)", name)
}
