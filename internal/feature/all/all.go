// Package all is the ordered list of feature folders, as CoreDNS's
// plugin.cfg: a new feature adds one line here, and its place in the list
// is its place in the request. The other route families (see
// routecfg.RoutePolicy) are still built in translate/policy/extract.go; their
// request order today, for the folders to come, is: tracing, headers
// (request input), redirect, cors, body size, limits, waf, access,
// basic-auth, external-auth, canary, affinity, balance, timeouts,
// proxy-rewrite, error-pages, logging.
package all

import (
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/feature/authbasic"
	"github.com/moat-ingress/moat/internal/feature/cors"
	"github.com/moat-ingress/moat/internal/feature/headers"
	"github.com/moat-ingress/moat/internal/feature/logs"
	"github.com/moat-ingress/moat/internal/feature/proxyrewrite"
)

// List returns the features in request order.
func List() []feature.Feature {
	return []feature.Feature{
		headers.Feature,      // changes the request first, the response last
		cors.Feature,         // answers preflights before access and auth
		authbasic.Feature,    // after the address checks (satisfy)
		proxyrewrite.Feature, // rewrites the upstream's response headers
		logs.Feature,         // decides the access-log line, last
	}
}

// Settings returns every controller ConfigMap key a feature owns.
func Settings() []feature.Setting {
	var out []feature.Setting
	for _, f := range List() {
		out = append(out, f.Settings...)
	}
	return out
}
