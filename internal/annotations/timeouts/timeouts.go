// Package timeouts parses the upstream timeouts and retries:
// proxy-connect-timeout, proxy-send-timeout, proxy-read-timeout and
// proxy-next-upstream(-tries, -timeout).
package timeouts

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "proxy-connect-timeout", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Seconds to establish a connection to an endpoint (unitless); default 5. A timeout answers 504 unless another endpoint is tried."},
	{Name: "proxy-send-timeout", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Seconds allowed between two writes of the request to the upstream; default 60."},
	{Name: "proxy-read-timeout", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Seconds allowed between two reads from the upstream, waiting for the response header included; default 60. 504 before the header; after it the response is cut, as nginx does; an upgraded (WebSocket) connection silent that long is closed."},
	{Name: "proxy-next-upstream", Scope: annotations.ScopeLocation, Risk: "Medium", Status: annotations.Supported,
		Doc: "When to try another endpoint: error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off; default `error timeout`. Only while nothing was sent to the client, and always to an endpoint not tried yet (ingress-nginx's balancer may pick the same one again); POST, LOCK and PATCH only before the request reached an upstream unless non_idempotent; a body is sent again only if it was held in memory (proxy-request-buffering) or not read at all."},
	{Name: "proxy-next-upstream-tries", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Attempts in all, the first included; default 3; 0 means one per endpoint of the pool."},
	{Name: "proxy-next-upstream-timeout", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Seconds after which no further endpoint is tried; 0 (default) is unlimited."},
}

var conditions = map[string]routecfg.NextUpstream{
	"error":          routecfg.NextError,
	"timeout":        routecfg.NextTimeout,
	"invalid_header": routecfg.NextInvalidHeader,
	"http_500":       routecfg.NextHTTP500,
	"http_502":       routecfg.NextHTTP502,
	"http_503":       routecfg.NextHTTP503,
	"http_504":       routecfg.NextHTTP504,
	"http_403":       routecfg.NextHTTP403,
	"http_404":       routecfg.NextHTTP404,
	"http_429":       routecfg.NextHTTP429,
	"non_idempotent": routecfg.NextNonIdempotent,
}

// Parse reads the family over the controller defaults; nil when no key
// is set.
func Parse(r *annotations.Reader, def routecfg.Timeouts) *routecfg.Timeouts {
	if !nginxval.Set(r, "proxy-connect-timeout", "proxy-send-timeout", "proxy-read-timeout", "proxy-next-upstream", "proxy-next-upstream-tries", "proxy-next-upstream-timeout") {
		return nil
	}
	t := def
	t.Connect, _ = nginxval.Seconds(r, "proxy-connect-timeout", def.Connect)
	t.Send, _ = nginxval.Seconds(r, "proxy-send-timeout", def.Send)
	t.Read, _ = nginxval.Seconds(r, "proxy-read-timeout", def.Read)
	t.NextTimeout, _ = nginxval.Seconds(r, "proxy-next-upstream-timeout", def.NextTimeout)
	t.Tries, _ = nginxval.Int(r, "proxy-next-upstream-tries", def.Tries, 0, 100)
	if v, ok := r.Raw("proxy-next-upstream"); ok {
		if n, ok := ParseNextUpstream(v); ok {
			t.Next = n
		} else {
			r.Invalid("proxy-next-upstream", v, "expected space-separated conditions from error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, or off")
		}
	}
	if t.Connect == 0 {
		// nginx refuses proxy_connect_timeout 0; keep the default rather
		// than dialling without a bound.
		r.Invalid("proxy-connect-timeout", "0", "a connect timeout must be at least 1 second")
		t.Connect = def.Connect
	}
	return &t
}

// ParseNextUpstream parses proxy-next-upstream; "off" anywhere disables
// retries, as in nginx.
func ParseNextUpstream(v string) (routecfg.NextUpstream, bool) {
	var n routecfg.NextUpstream
	off := false
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return 0, false
	}
	for _, f := range fields {
		if f == "off" {
			off = true
			continue
		}
		c, ok := conditions[f]
		if !ok {
			return 0, false
		}
		n |= c
	}
	if off {
		return 0, true
	}
	return n, true
}
