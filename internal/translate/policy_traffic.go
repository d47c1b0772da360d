package translate

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// trafficPolicies fills the traffic families of p; it reports whether any
// is set.
func (t *translator) trafficPolicies(r *annotations.Reader, ing *networkingv1.Ingress, p *routecfg.RoutePolicy) bool {
	return false
}
