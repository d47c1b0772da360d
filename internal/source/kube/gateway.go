package kube

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/store"
)

// gatewayGroupVersion is the Gateway API version moat reads.
const gatewayGroupVersion = "gateway.networking.k8s.io/v1"

// addGatewayAPI watches GatewayClass, Gateway, HTTPRoute, GRPCRoute,
// TLSRoute, BackendTLSPolicy and ReferenceGrant, each only when the API
// server serves it (its CRD is installed): a cluster without Gateway API
// must not keep moat unready. Namespaces are watched with them, for their
// labels.
func (s *Source) addGatewayAPI(gw gatewayclient.Interface, nss []string) {
	served := map[string]bool{}
	if rl, err := s.opts.Client.Discovery().ServerResourcesForGroupVersion(gatewayGroupVersion); err == nil {
		for _, r := range rl.APIResources {
			served[r.Name] = true
		}
	}
	if len(served) == 0 {
		s.log.Info("Gateway API CRDs are not installed; Gateway API objects are not watched", "group_version", gatewayGroupVersion)
		return
	}
	c := gw.GatewayV1()
	// An RBAC without the Gateway API rules (an older install) must not
	// keep the informers from syncing: try one list first.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.HTTPRoutes(nss[0]).List(ctx, metav1.ListOptions{Limit: 1}); apierrors.IsForbidden(err) {
		s.log.Warn("Gateway API CRDs are installed but moat may not read them (RBAC); Gateway API objects are not watched",
			"err", err, "hint", "apply the ClusterRole of deploy/rbac.yaml or the chart of this version")
		return
	}
	// GRPCRoute, TLSRoute and BackendTLSPolicy came later: an RBAC of the release before
	// lacks them, and only they are left out then.
	for _, r := range []string{"grpcroutes", "tlsroutes", "backendtlspolicies"} {
		if !served[r] {
			continue
		}
		var err error
		switch r {
		case "grpcroutes":
			_, err = c.GRPCRoutes(nss[0]).List(ctx, metav1.ListOptions{Limit: 1})
		case "tlsroutes":
			_, err = c.TLSRoutes(nss[0]).List(ctx, metav1.ListOptions{Limit: 1})
		default:
			_, err = c.BackendTLSPolicies(nss[0]).List(ctx, metav1.ListOptions{Limit: 1})
		}
		if apierrors.IsForbidden(err) {
			s.log.Warn("moat may not read "+r+" (RBAC); they are not watched", "err", err,
				"hint", "apply the ClusterRole of deploy/rbac.yaml or the chart of this version")
			served[r] = false
		}
	}
	if served["gatewayclasses"] {
		s.add("GatewayClass", &gatewayv1.GatewayClass{}, s.listWatch(
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.GatewayClasses().List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.GatewayClasses().Watch(ctx, o)
			}, ""))
	}
	for _, ns := range nss {
		if served["gateways"] {
			s.add("Gateway", &gatewayv1.Gateway{}, s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.Gateways(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.Gateways(ns).Watch(ctx, o)
				}, ""))
		}
		if served["httproutes"] {
			s.add("HTTPRoute", &gatewayv1.HTTPRoute{}, s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.HTTPRoutes(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.HTTPRoutes(ns).Watch(ctx, o)
				}, ""))
		}
		if served["grpcroutes"] {
			s.add("GRPCRoute", &gatewayv1.GRPCRoute{}, s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.GRPCRoutes(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.GRPCRoutes(ns).Watch(ctx, o)
				}, ""))
		}
		if served["tlsroutes"] {
			s.add("TLSRoute", &gatewayv1.TLSRoute{}, s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.TLSRoutes(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.TLSRoutes(ns).Watch(ctx, o)
				}, ""))
		}
		if served["backendtlspolicies"] {
			s.addBackendTLSPolicy(s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.BackendTLSPolicies(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.BackendTLSPolicies(ns).Watch(ctx, o)
				}, ""))
		}
		if served["referencegrants"] {
			s.add("ReferenceGrant", &gatewayv1.ReferenceGrant{}, s.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.ReferenceGrants(ns).List(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.ReferenceGrants(ns).Watch(ctx, o)
				}, ""))
		}
	}
	s.addNamespaces(ctx)
	s.log.Info("watching Gateway API objects", "group_version", gatewayGroupVersion)
}

// addNamespaces watches Namespaces, whose labels a listener's
// allowedRoutes.namespaces.selector matches. They are cluster-scoped and
// few; an RBAC without them (an older install) leaves them out, and a
// selector then sees only the kubernetes.io/metadata.name label.
func (s *Source) addNamespaces(ctx context.Context) {
	c := s.opts.Client.CoreV1()
	if _, err := c.Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); apierrors.IsForbidden(err) {
		s.log.Warn("moat may not read namespaces (RBAC); a listener's allowedRoutes namespace selector sees only their names", "err", err,
			"hint", "apply the ClusterRole of deploy/rbac.yaml or the chart of this version")
		return
	}
	s.add("Namespace", &corev1.Namespace{}, s.listWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.Namespaces().List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Namespaces().Watch(ctx, o)
		}, ""))
}

// addBackendTLSPolicy is add for BackendTLSPolicies: the ConfigMaps their
// caCertificateRefs name are watched (one by one, as those of Ingress
// annotations) before the policy is stored, and released after.
func (s *Source) addBackendTLSPolicy(lw cache.ListerWatcher) {
	owner := func(ns, name string) string { return "backendtlspolicy:" + ns + "/" + name }
	s.addWith("BackendTLSPolicy", &gatewayv1.BackendTLSPolicy{}, lw,
		func(obj any) {
			var gone []string
			if p, ok := obj.(*gatewayv1.BackendTLSPolicy); ok {
				gone = s.refs.set(owner(p.Namespace, p.Name), BackendTLSPolicyConfigMapRefs(p))
			}
			s.upsert(obj)
			s.refs.release(gone)
		},
		func(k store.Key) {
			s.opts.Store.Delete(k)
			s.refs.release(s.refs.deleted(owner(k.Namespace, k.Name)))
		})
}

// BackendTLSPolicyConfigMapRefs returns the "namespace/name" keys of the
// ConfigMaps a policy's caCertificateRefs name (always its own namespace).
func BackendTLSPolicyConfigMapRefs(p *gatewayv1.BackendTLSPolicy) []string {
	var out []string
	for _, r := range p.Spec.Validation.CACertificateRefs {
		if r.Group != "" || r.Kind != "ConfigMap" || len(validation.IsDNS1123Subdomain(string(r.Name))) > 0 {
			continue
		}
		if key := p.Namespace + "/" + string(r.Name); !contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}
