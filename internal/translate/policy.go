package translate

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// policyFor parses the route-level annotation families of one Ingress into
// the policy its routes share; nil when no family is set. Each family's
// Parse reports bad values through r.
func (t *translator) policyFor(r *annotations.Reader, ing *networkingv1.Ingress) *routecfg.RoutePolicy {
	_ = r
	_ = ing
	return nil
}
