package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lastApplied is written by kubectl apply and repeats the whole object; on
// a Secret it even repeats the key in plain base64.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Strip drops what translate and the status writer never read before an
// object enters the informer cache: managed fields, the last-applied
// copy, owner references, and per-endpoint topology. It is an informer
// transform: it may modify the freshly decoded object it receives.
func Strip(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		stripMeta(m)
	}
	switch o := obj.(type) {
	case *discoveryv1.EndpointSlice:
		// EndpointSlices churn most; keep only addresses, readiness and
		// ports, plus the service-name label the store groups them by.
		o.Labels = keep(o.Labels, discoveryv1.LabelServiceName)
		o.Annotations = nil
		for i := range o.Endpoints {
			e := &o.Endpoints[i]
			e.Hostname, e.NodeName, e.Zone, e.Hints, e.TargetRef, e.DeprecatedTopology = nil, nil, nil, nil, nil, nil
		}
	case *corev1.Service:
		o.Spec.Selector = nil
		o.Spec.SessionAffinityConfig = nil
	case *corev1.Secret:
		o.Labels = nil
	case *networkingv1.IngressClass:
		o.Labels = nil
	case *networkingv1.Ingress:
		o.Labels = nil
	case *corev1.Namespace:
		// Only the labels are read (a listener's namespace selector).
		o.Annotations = nil
		o.Spec, o.Status = corev1.NamespaceSpec{}, corev1.NamespaceStatus{}
	}
	return obj, nil
}

func stripMeta(m metav1.Object) {
	m.SetManagedFields(nil)
	m.SetOwnerReferences(nil)
	m.SetFinalizers(nil)
	delete(m.GetAnnotations(), lastApplied)
}

func keep(m map[string]string, key string) map[string]string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	return map[string]string{key: v}
}
