package k8s

import (
	"fmt"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestLegacyIngress(t *testing.T) {
	for _, apiVersion := range []string{"extensions/v1beta1", "networking.k8s.io/v1beta1"} {
		t.Run(apiVersion, func(t *testing.T) {
			in := fmt.Sprintf(dedent(`
			apiVersion: %s
			kind: Ingress
			metadata:
			  name: web
			  namespace: shop
			  labels: {app: web}
			  annotations:
			    nginx.ingress.kubernetes.io/rewrite-target: /
			  creationTimestamp: "2019-04-30T17:43:44Z"
			spec:
			  ingressClassName: moat
			  backend:
			    serviceName: fallback
			    servicePort: 8080
			  tls:
			  - hosts: [shop.example.com]
			    secretName: shop-tls
			  rules:
			  - host: shop.example.com
			    http:
			      paths:
			      - path: /
			        backend:
			          serviceName: web
			          servicePort: 80
			      - path: /api
			        pathType: Prefix
			        backend:
			          serviceName: api
			          servicePort: http
			      - path: /quoted
			        pathType: Exact
			        backend:
			          serviceName: api
			          servicePort: "8081"
			      - path: /bucket
			        backend:
			          resource:
			            apiGroup: k8s.example.com
			            kind: StorageBucket
			            name: assets
			`), apiVersion)
			objs, diags := Decode([]byte(in), "legacy.yaml")
			checkKeys(t, objs, "Ingress shop/web@1")
			checkDiags(t, diags,
				want{sev: diag.Warning, reason: ReasonDeprecatedAPI, line: 1, field: "apiVersion",
					in: "Ingress apiVersion " + apiVersion + " was removed in Kubernetes 1.22"},
				want{sev: diag.Warning, reason: ReasonQuotedPort, field: "spec.rules[0].http.paths[2].backend.servicePort"},
			)
			for _, d := range diags {
				if d.Reason == ReasonDeprecatedAPI && d.Hint != "use apiVersion networking.k8s.io/v1: backend.service.name / backend.service.port.number, and set pathType" {
					t.Errorf("hint = %q", d.Hint)
				}
			}
			ing := objs[0].Obj.(*networkingv1.Ingress)
			if ing.APIVersion != "networking.k8s.io/v1" || ing.Kind != "Ingress" {
				t.Errorf("TypeMeta = %+v", ing.TypeMeta)
			}
			if ing.Labels["app"] != "web" || ing.Annotations["nginx.ingress.kubernetes.io/rewrite-target"] != "/" ||
				ing.CreationTimestamp.Year() != 2019 {
				t.Errorf("metadata not copied: %+v", ing.ObjectMeta)
			}
			if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "moat" {
				t.Errorf("ingressClassName = %v", ing.Spec.IngressClassName)
			}
			if b := ing.Spec.DefaultBackend; b == nil || b.Service == nil || b.Service.Name != "fallback" || b.Service.Port.Number != 8080 {
				t.Errorf("defaultBackend = %+v", b)
			}
			if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "shop-tls" || ing.Spec.TLS[0].Hosts[0] != "shop.example.com" {
				t.Errorf("tls = %+v", ing.Spec.TLS)
			}
			paths := ing.Spec.Rules[0].HTTP.Paths
			type path struct {
				path, pathType, svc string
				number              int32
				portName            string
			}
			wantPaths := []path{
				{"/", "ImplementationSpecific", "web", 80, ""},
				{"/api", "Prefix", "api", 0, "http"},
				{"/quoted", "Exact", "api", 8081, ""},
				{"/bucket", "ImplementationSpecific", "", 0, ""},
			}
			if len(paths) != len(wantPaths) {
				t.Fatalf("paths = %+v", paths)
			}
			for i, w := range wantPaths {
				p := paths[i]
				got := path{path: p.Path, pathType: string(*p.PathType)}
				if s := p.Backend.Service; s != nil {
					got.svc, got.number, got.portName = s.Name, s.Port.Number, s.Port.Name
				}
				if got != w {
					t.Errorf("paths[%d] = %+v, want %+v", i, got, w)
				}
			}
			if r := paths[3].Backend.Resource; r == nil || r.Kind != "StorageBucket" || paths[3].Backend.Service != nil {
				t.Errorf("resource backend = %+v", paths[3].Backend)
			}
		})
	}
}

func TestLegacyIngressUnknownField(t *testing.T) {
	// A v1 field name inside a legacy Ingress is unknown there.
	in := dedent(`
	apiVersion: extensions/v1beta1
	kind: Ingress
	metadata: {name: web}
	spec:
	  defaultBackend:
	    serviceName: web
	    servicePort: 80
	`)
	objs, diags := Decode([]byte(in), "t.yaml")
	checkKeys(t, objs, "Ingress default/web@1")
	checkDiags(t, diags,
		want{sev: diag.Warning, reason: ReasonDeprecatedAPI},
		want{sev: diag.Warning, reason: ReasonUnknownField, line: 5, field: "spec.defaultBackend"},
	)
}

func TestLegacyIngressClass(t *testing.T) {
	in := dedent(`
	apiVersion: networking.k8s.io/v1beta1
	kind: IngressClass
	metadata: {name: moat}
	spec:
	  controller: moat.dev/ingress
	  parameters: {apiGroup: k8s.example.com, kind: Params, name: p}
	`)
	objs, diags := Decode([]byte(in), "t.yaml")
	checkKeys(t, objs, "IngressClass /moat@1")
	checkDiags(t, diags, want{sev: diag.Warning, reason: ReasonDeprecatedAPI, line: 1})
	ic := objs[0].Obj.(*networkingv1.IngressClass)
	if ic.Spec.Controller != "moat.dev/ingress" || ic.Spec.Parameters == nil || ic.Spec.Parameters.Name != "p" {
		t.Errorf("IngressClass = %+v", ic.Spec)
	}
}
