package routecfg

// Mirror is Gateway API's RequestMirror filter: a copy of each request
// (or of a fraction of them) is sent to one endpoint of Pool and its
// response is discarded (internal/dataplane/mirror).
type Mirror struct {
	// Pool is the key into Config.Pools.
	Pool string
	// Numerator/Denominator of the requests are mirrored; Denominator 0
	// means all of them.
	Numerator, Denominator int
}

// All reports whether every request is mirrored.
func (m Mirror) All() bool { return m.Denominator == 0 || m.Numerator >= m.Denominator }
