package ingress

import (
	"fmt"
	"net"
	"strconv"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// serviceUpstream replaces the pool's endpoints with the Service's cluster
// IP and port (service-upstream). Like ingress-nginx it keeps the
// endpoints for Services without a cluster IP (headless, ExternalName).
func (t *Builder) serviceUpstream(ing *networkingv1.Ingress, sb *networkingv1.IngressServiceBackend, pool *routecfg.Pool, d *diag.Diagnostic, ann policy.Set) (*routecfg.Pool, *diag.Diagnostic) {
	if pool == nil || policy.ServiceUpstreamSuffix(ann) == "" {
		return pool, d
	}
	svc := t.Snapshot.Services[ing.Namespace+"/"+sb.Name]
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return pool, d
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "ServiceUpstreamHeadless",
			Field:   "metadata.annotations." + t.AnnKey("service-upstream"),
			Message: fmt.Sprintf("service %s/%s has no cluster IP; its endpoints are used", svc.Namespace, svc.Name)})
		return pool, d
	}
	for _, sp := range svc.Spec.Ports {
		if (sb.Port.Name != "" && sp.Name == sb.Port.Name) || (sb.Port.Name == "" && sp.Port == sb.Port.Number) {
			pool.Endpoints = []routecfg.Endpoint{{Address: net.JoinHostPort(ip, strconv.Itoa(int(sp.Port)))}}
			// kube-proxy balances: endpoint readiness no longer decides.
			return pool, nil
		}
	}
	return pool, d
}
