package translate

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// httpPolicies fills the HTTP behaviour families of p; it reports whether
// any is set.
func (t *translator) httpPolicies(r *annotations.Reader, ing *networkingv1.Ingress, p *routecfg.RoutePolicy) bool {
	return false
}
