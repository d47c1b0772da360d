package routecfg

// AffinityMode is ingress-nginx's affinity-mode.
type AffinityMode uint8

const (
	// AffinityBalanced maps the cookie's random key onto the endpoints
	// by consistent hashing: scaling moves some sessions.
	AffinityBalanced AffinityMode = iota
	// AffinityPersistent names the endpoint in the cookie (hashed): a
	// session stays until its endpoint disappears.
	AffinityPersistent
)

func (m AffinityMode) String() string {
	if m == AffinityPersistent {
		return "persistent"
	}
	return "balanced"
}

// Affinity is cookie session affinity (ingress-nginx affinity: cookie).
type Affinity struct {
	Mode AffinityMode
	// CookieName defaults to INGRESSCOOKIE.
	CookieName string
	// Path is the cookie's Path; "" means the route's path.
	Path   string
	Domain string
	// SameSite is "None", "Lax", "Strict" or "" (not set).
	SameSite string
	// ConditionalSameSiteNone omits SameSite=None for user agents known
	// to reject it.
	ConditionalSameSiteNone bool
	// Secure forces the Secure attribute; HTTPS requests always get it.
	Secure      bool
	Partitioned bool
	// MaxAge and Expires are seconds; HasMaxAge/HasExpires say whether
	// they are set.
	MaxAge     int
	HasMaxAge  bool
	Expires    int
	HasExpires bool
	// ChangeOnFailure moves the session to another endpoint when an
	// attempt fails and the request is retried.
	ChangeOnFailure bool
	// CanaryLegacy is affinity-canary-behavior: legacy: the canary
	// decision ignores affinity cookies.
	CanaryLegacy bool
}
