package routecfg

import (
	"time"

	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// BasicAuth is auth-type basic with its user file.
type BasicAuth struct {
	// Realm is sent in WWW-Authenticate.
	Realm string
	// Users maps a user name to its htpasswd hash (bcrypt, {SHA},
	// $apr1$ or $1$).
	Users map[string]string
}

// ExternalAuth is the auth-url family: a sub-request decides.
type ExternalAuth struct {
	// URL is the auth endpoint; it may use the request variables that
	// Template allows.
	URL vartemplate.Template
	// Method overrides the sub-request's method (auth-method).
	Method string
	// Signin, when set, turns a 401 into a 302 to it (auth-signin); the
	// rd parameter is already part of it.
	Signin vartemplate.Template
	// ResponseHeaders are copied from the auth response to the upstream
	// request (and removed from the client's request).
	ResponseHeaders []string
	// RequestRedirect is X-Auth-Request-Redirect; empty: the request URI.
	RequestRedirect vartemplate.Template
	// SetHeaders are set on the sub-request (auth-proxy-set-headers).
	SetHeaders []vartemplate.Header
	// CacheKey, when set, caches auth answers per location and per the
	// key's value for the statuses and durations of CacheRules
	// (auth-cache-key, evaluated like upstream-hash-by, never templated).
	CacheKey   []HashPart
	CacheRules []CacheRule
	// AlwaysSetCookie passes the auth response's Set-Cookie on every
	// response, not only 2xx/3xx ones.
	AlwaysSetCookie bool
	// Keepalive, when set, is ingress-nginx's auth-keepalive mode; nil is
	// its default: a new connection per auth request.
	Keepalive *AuthKeepalive
}

// AuthKeepalive is auth-keepalive: ingress-nginx then asks the auth
// service through a Lua subrequest over an upstream block with keepalive
// connections, which differs from auth_request: the method is GET unless
// auth-method says otherwise, only 200 lets the request through (other
// 2xx give 500), a 401 carries no WWW-Authenticate, and X-Request-ID is
// the request's own only with ShareVars.
type AuthKeepalive struct {
	// Conns is the number of idle connections kept; Requests the most a
	// connection carries; Timeout how long an idle one stays open.
	Conns, Requests int
	Timeout         time.Duration
	ShareVars       bool
}

// CacheRule is one auth-cache-duration entry; Codes empty means 200,
// 301 and 302 (nginx proxy_cache_valid), "any" is Any.
type CacheRule struct {
	Codes []int
	Any   bool
	TTL   time.Duration
}
