package routecfg

// Logging is enable-access-log and enable-rewrite-log.
type Logging struct {
	// NoAccessLog leaves the route's requests out of the access log.
	NoAccessLog bool
	// RewriteLog logs each rewrite at info level.
	RewriteLog bool
}
