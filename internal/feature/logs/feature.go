package logs

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is enable-access-log's and enable-rewrite-log's entry in
// feature/all.
var Feature = feature.Feature{Name: "logs", Keys: Keys,
	Build: func(_ feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) { p.Logging = Parse(r) }}
