package k8s

import (
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestDecodeGatewayAPI(t *testing.T) {
	in := dedent(`
		apiVersion: gateway.networking.k8s.io/v1
		kind: GatewayClass
		metadata:
		  name: moat
		  namespace: ignored
		spec:
		  controllerName: moat.dev/gateway-controller
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: Gateway
		metadata:
		  name: gw
		spec:
		  gatewayClassName: moat
		  listeners:
		  - name: https
		    protocol: HTTPS
		    port: 443
		    tls:
		      certificateRefs:
		      - name: cert
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: HTTPRoute
		metadata:
		  name: r
		  namespace: apps
		spec:
		  parentRefs:
		  - name: gw
		    namespace: default
		  rules:
		  - matches:
		    - path: {type: PathPrefix, value: /api}
		      headres: []
		    backendRefs:
		    - name: svc
		      port: 80
		---
		apiVersion: gateway.networking.k8s.io/v1beta1
		kind: ReferenceGrant
		metadata:
		  name: allow
		spec:
		  from:
		  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}
		  to:
		  - {group: "", kind: Service}
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: GRPCRoute
		metadata: {name: g}
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: TLSRoute
		metadata: {name: t}
		---
		apiVersion: gateway.networking.k8s.io/v1alpha2
		kind: TLSRoute
		metadata: {name: old}
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: HTTPRoute
		metadata: {name: bad}
		spec:
		  rules: {}
		---
		apiVersion: gateway.networking.k8s.io/v1
		kind: Httproute
		metadata: {name: case}
		`)
	objs, diags := Decode([]byte(in), "gw.yaml")
	checkKeys(t, objs,
		"GatewayClass /moat@1", "Gateway default/gw@9", "HTTPRoute apps/r@23",
		"ReferenceGrant default/allow@40", "GRPCRoute default/g@50", "TLSRoute default/t@54")
	checkDiags(t, diags,
		want{sev: diag.Warning, reason: ReasonUnknownField, line: 35, field: "spec.rules[0].matches[0].headres"},
		want{sev: diag.Error, reason: ReasonUnsupportedAPI, line: 58, field: "apiVersion", in: "tlsroute default/old"},
		want{sev: diag.Error, reason: ReasonInvalid, line: 62, in: "httproute default/bad"},
		want{sev: diag.Error, reason: ReasonUnknownKind, line: 68, field: "kind"},
	)
	for _, d := range diags {
		if d.Reason == ReasonUnknownKind && d.Hint != "kinds are case-sensitive: did you mean kind HTTPRoute, apiVersion gateway.networking.k8s.io/v1?" {
			t.Errorf("hint %q", d.Hint)
		}
		if d.Reason == ReasonUnsupportedAPI && d.Hint != "use apiVersion gateway.networking.k8s.io/v1" {
			t.Errorf("hint %q", d.Hint)
		}
	}
	rg, ok := objs[3].Obj.(*gatewayv1.ReferenceGrant)
	if !ok || len(rg.Spec.From) != 1 || rg.Spec.From[0].Namespace != "apps" || rg.Spec.To[0].Kind != "Service" {
		t.Errorf("v1beta1 ReferenceGrant not read as v1: %#v", objs[3].Obj)
	}
	gw := objs[1].Obj.(*gatewayv1.Gateway)
	if l := gw.Spec.Listeners; len(l) != 1 || l[0].TLS == nil || len(l[0].TLS.CertificateRefs) != 1 {
		t.Errorf("listener TLS not decoded: %#v", l)
	}
}

// A Namespace is read for its labels (a listener's namespace selector),
// cluster-scoped, with the kubernetes.io/metadata.name label the API
// server sets.
func TestDecodeNamespace(t *testing.T) {
	in := dedent(`
		apiVersion: v1
		kind: Namespace
		metadata:
		  name: web
		  namespace: ignored
		  labels: {team: web, tier: 1}
		spec: {finalizers: [kubernetes]}
		`)
	objs, diags := Decode([]byte(in), "ns.yaml")
	checkKeys(t, objs, "Namespace /web@1")
	checkDiags(t, diags, want{sev: diag.Warning, reason: ReasonNonStringValue, field: "metadata.labels.tier"})
	ns := objs[0].Obj.(*corev1.Namespace)
	if want := map[string]string{"team": "web", "tier": "1", "kubernetes.io/metadata.name": "web"}; !maps.Equal(ns.Labels, want) {
		t.Errorf("labels %v, want %v", ns.Labels, want)
	}
}
