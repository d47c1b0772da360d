package router

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// conditionsHold reports whether req satisfies c (all of it).
func conditionsHold(c *routecfg.Conditions, req *http.Request) bool {
	if req == nil {
		return false
	}
	switch c.Scheme {
	case routecfg.SchemeHTTP:
		if req.TLS != nil {
			return false
		}
	case routecfg.SchemeHTTPS:
		if req.TLS == nil {
			return false
		}
	}
	if c.Method != "" && req.Method != c.Method {
		return false
	}
	for i := range c.Headers {
		m := &c.Headers[i]
		vs, ok := req.Header[m.Name]
		if !ok || len(vs) == 0 || !valueMatches(m, vs[0]) {
			return false
		}
	}
	for i := range c.Query {
		m := &c.Query[i]
		v, ok := queryValue(req.URL.RawQuery, m.Name)
		if !ok || !valueMatches(m, v) {
			return false
		}
	}
	return true
}

func valueMatches(m *routecfg.ValueMatch, v string) bool {
	if m.Regex != nil {
		return m.Regex.MatchString(v)
	}
	return v == m.Value
}

// queryValue returns the first value of the query parameter name, without
// parsing the whole query into a map. A parameter that does not unescape
// is compared as written.
func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			// Compared decoded, as net/url does (no allocation otherwise).
			uk, err := url.QueryUnescape(k)
			if err != nil {
				continue
			}
			k = uk
		}
		if k != name {
			continue
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			return uv, true
		}
		return v, true
	}
	return "", false
}
