package routecfg

import "strings"

// Algorithm is ingress-nginx's load-balance.
type Algorithm uint8

const (
	RoundRobin Algorithm = iota
	// EWMA picks the better of two random endpoints by their
	// exponentially weighted moving average response time.
	EWMA
)

func (a Algorithm) String() string {
	if a == EWMA {
		return "ewma"
	}
	return "round_robin"
}

// HashSource is one part of an upstream-hash-by key. ingress-nginx takes
// an nginx variable string; moat maps each variable to a typed source and
// never interprets the string at request time.
type HashSource uint8

const (
	// HashLiteral is constant text.
	HashLiteral HashSource = iota
	// HashRequestURI is $request_uri: the path and query as sent.
	HashRequestURI
	// HashURI is $uri: the normalised path.
	HashURI
	// HashArgs is $args / $query_string.
	HashArgs
	// HashHost is $host: the request host, lower case, without port.
	HashHost
	// HashRemoteAddr is $remote_addr: the client IP.
	HashRemoteAddr
	// HashHeader is $http_<name>; Name is the canonical header name.
	HashHeader
	// HashCookie is $cookie_<name>.
	HashCookie
	// HashArg is $arg_<name>: one query parameter.
	HashArg
	// HashScheme is $scheme.
	HashScheme
	// HashMethod is $request_method.
	HashMethod
	// HashRemoteUser is $remote_user: the user name of Basic credentials.
	HashRemoteUser
)

// HashPart is a literal or a request value.
type HashPart struct {
	Source HashSource
	// Name is the literal text, header, cookie or argument name.
	Name string
}

// Balance is how a route chooses an endpoint of its pool.
type Balance struct {
	Algorithm Algorithm
	// HashBy, when set, selects the endpoint by consistent hashing of
	// the concatenated parts (upstream-hash-by); it wins over Algorithm.
	HashBy []HashPart
	// HashSubsetSize > 0 hashes onto subsets of that many endpoints and
	// picks randomly inside the subset (upstream-hash-by-subset).
	HashSubsetSize int
	// UpstreamVHost replaces the Host header sent upstream; "" keeps the
	// client's.
	UpstreamVHost string
	// ServiceUpstream records that translate used the Service's cluster
	// IP as the pool's only endpoint (service-upstream).
	ServiceUpstream bool
}

// String renders the part as the nginx variable it came from.
func (p HashPart) String() string {
	switch p.Source {
	case HashLiteral:
		return p.Name
	case HashRequestURI:
		return "$request_uri"
	case HashURI:
		return "$uri"
	case HashArgs:
		return "$args"
	case HashHost:
		return "$host"
	case HashRemoteAddr:
		return "$remote_addr"
	case HashHeader:
		return "${http_" + strings.ReplaceAll(strings.ToLower(p.Name), "-", "_") + "}"
	case HashCookie:
		return "${cookie_" + p.Name + "}"
	case HashArg:
		return "${arg_" + p.Name + "}"
	case HashScheme:
		return "$scheme"
	case HashMethod:
		return "$request_method"
	}
	return "?"
}
