package routecfg

// ErrorPages is custom-http-errors: upstream responses (and moat's own
// 502/503/504) with one of Codes are replaced by the answer of the
// default backend, asked for "/" with X-Code and friends. Pool "" means
// ingress-nginx's built-in default backend, which answers 404.
type ErrorPages struct {
	Codes []int
	Pool  string
}

// Has reports whether code is intercepted.
func (e *ErrorPages) Has(code int) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}
