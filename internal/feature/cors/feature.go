package cors

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is enable-cors's entry in feature/all.
var Feature = feature.Feature{Name: "cors", Keys: Keys,
	Build: func(_ feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) { p.CORS = Parse(r) }}
