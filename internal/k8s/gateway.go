package k8s

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/moat-ingress/moat/internal/diag"
)

// GatewayGroup is the API group of the Gateway API kinds moat reads.
const GatewayGroup = "gateway.networking.k8s.io"

// Gateway API kinds (v1.6.3). v1beta1 ReferenceGrant is still the
// version most manifests in the wild use; it is read as v1 (one schema).
func decodeGatewayClass(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var gc gatewayv1.GatewayClass
	if !d.typed(ref, m, &gc) {
		return nil
	}
	gc.Namespace = "" // cluster-scoped
	return []decoded{{&gc}}
}

func decodeGateway(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var gw gatewayv1.Gateway
	if !d.typed(ref, m, &gw) {
		return nil
	}
	defaultNamespace(&gw.Namespace)
	return []decoded{{&gw}}
}

func decodeHTTPRoute(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var hr gatewayv1.HTTPRoute
	if !d.typed(ref, m, &hr) {
		return nil
	}
	defaultNamespace(&hr.Namespace)
	return []decoded{{&hr}}
}

func decodeGRPCRoute(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var gr gatewayv1.GRPCRoute
	if !d.typed(ref, m, &gr) {
		return nil
	}
	defaultNamespace(&gr.Namespace)
	return []decoded{{&gr}}
}

func decodeTLSRoute(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var tr gatewayv1.TLSRoute
	if !d.typed(ref, m, &tr) {
		return nil
	}
	defaultNamespace(&tr.Namespace)
	return []decoded{{&tr}}
}

func decodeReferenceGrant(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var rg gatewayv1.ReferenceGrant
	if !d.typed(ref, m, &rg) {
		return nil
	}
	defaultNamespace(&rg.Namespace)
	return []decoded{{&rg}}
}

func decodeReferenceGrantV1beta1(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var old gatewayv1beta1.ReferenceGrant
	if !d.typed(ref, m, &old) {
		return nil
	}
	// The same schema (v1beta1's spec types are aliases of v1's).
	rg := &gatewayv1.ReferenceGrant{ObjectMeta: old.ObjectMeta, Spec: old.Spec}
	rg.APIVersion, rg.Kind = GatewayGroup+"/v1", "ReferenceGrant"
	defaultNamespace(&rg.Namespace)
	return []decoded{{rg}}
}

func decodeBackendTLSPolicy(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	var p gatewayv1.BackendTLSPolicy
	if !d.typed(ref, m, &p) {
		return nil
	}
	defaultNamespace(&p.Namespace)
	return []decoded{{&p}}
}
