package routecfg

// HostPolicy is host-level (nginx server block) behaviour from
// annotations; the oldest Ingress that sets each part wins.
type HostPolicy struct {
	// RedirectHost answers every request with RedirectCode to the same
	// scheme and URI on this host (from-to-www-redirect's second server).
	RedirectHost string
	RedirectCode int
	// AppRoot answers a request for "/" with 302 to this path on the
	// request's scheme and Host (ingress-nginx's server-level app-root).
	AppRoot string
	// Headers are server-snippet response headers, for every response
	// of the host.
	Headers *Headers
}
