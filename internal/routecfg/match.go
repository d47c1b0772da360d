package routecfg

import "regexp"

// Conditions are request matches beyond host and path: Gateway API's
// header, query parameter and method matches, and the listener a route
// is attached to. All must hold (AND). A route with Conditions that do
// not hold is skipped and the next route in order is tried.
type Conditions struct {
	// Method, when set, must equal the request method.
	Method string
	// Headers match request headers; Name is canonical (case-insensitive
	// match), the first value of the header is compared.
	Headers []ValueMatch
	// Query match query parameters; Name is case-sensitive, the first
	// occurrence of the parameter is compared.
	Query []ValueMatch
	// Scheme restricts the route to plain HTTP or to HTTPS requests.
	Scheme SchemeMatch
}

// SchemeMatch says on which listener kind a route is served.
type SchemeMatch uint8

const (
	// SchemeAny serves the route on both listeners.
	SchemeAny SchemeMatch = iota
	// SchemeHTTP serves it on plain HTTP only.
	SchemeHTTP
	// SchemeHTTPS serves it on HTTPS only.
	SchemeHTTPS
)

// ValueMatch compares one named value: equal to Value, or, when Regex is
// set, matched by it (unanchored, as Gateway API's RegularExpression).
type ValueMatch struct {
	Name  string
	Value string
	Regex *regexp.Regexp
}

// Backend is one weighted backend of a route (Gateway API backendRefs):
// a request goes to Pool with probability Weight/sum(Weight). Pool "" is a
// backend that could not be resolved; its share is answered with Status.
type Backend struct {
	Pool   string
	Weight int
	Status int
	// Headers, when set, are a backendRef's own RequestHeaderModifier
	// (Upstream, UpstreamAdd), applied after the route's to the requests
	// this backend is picked for.
	Headers *Headers
}

// URLRedirect is Gateway API's RequestRedirect filter: each part that is
// set replaces the request's; the query is kept.
type URLRedirect struct {
	// Scheme "http" or "https"; "" keeps the request's.
	Scheme string
	// Host replaces the request host; "" keeps it.
	Host string
	// Port, when non-zero, is written unless it is the scheme's default;
	// zero: the scheme's default when Scheme is set, else the port the
	// request came in on.
	Port int
	// Path, when set, replaces the path (see PathModifier).
	Path *PathModifier
	// Code is 301, 302, 303, 307 or 308.
	Code int
}

// PathModifier replaces the whole path (Full) or the matched prefix
// (Prefix, the route's MatchPrefix path) with Value.
type PathModifier struct {
	Prefix bool
	// Match is the route's prefix, for Prefix.
	Match string
	Value string
}
