package translate

import (
	"cmp"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
)

// TestFamilyAloneIsServed puts each route family's annotation alone on an
// Ingress and checks that its routes carry it. Every RoutePolicy field
// needs a case here, so a new family cannot be dropped silently when it
// is the only one an Ingress sets (the trap of a hand-kept "is any family
// set" list).
func TestFamilyAloneIsServed(t *testing.T) {
	cases := map[string]string{
		"Redirect":     `nginx.ingress.kubernetes.io/permanent-redirect: https://example.org`,
		"CORS":         `nginx.ingress.kubernetes.io/enable-cors: "true"`,
		"Access":       `nginx.ingress.kubernetes.io/allowlist-source-range: 10.0.0.0/8`,
		"BasicAuth":    "nginx.ingress.kubernetes.io/auth-type: basic\n    nginx.ingress.kubernetes.io/auth-secret: users",
		"ExternalAuth": `nginx.ingress.kubernetes.io/auth-url: http://auth.example/check`,
		"Headers":      `nginx.ingress.kubernetes.io/connection-proxy-header: keep-alive`,
		"ErrorPages":   `nginx.ingress.kubernetes.io/custom-http-errors: "404"`,
		"Logging":      `nginx.ingress.kubernetes.io/enable-access-log: "false"`,
		"ProxyRewrite": `nginx.ingress.kubernetes.io/proxy-cookie-path: /a /b`,
		"Tracing":      `nginx.ingress.kubernetes.io/enable-opentelemetry: "true"`,
		"WAF":          `nginx.ingress.kubernetes.io/enable-modsecurity: "true"`,
		"Canary":       "", // a second Ingress: see below
		"Affinity":     `nginx.ingress.kubernetes.io/affinity: cookie`,
		"Balance":      `nginx.ingress.kubernetes.io/load-balance: ewma`,
		"Limits":       `nginx.ingress.kubernetes.io/limit-rps: "5"`,
		"Body":         `nginx.ingress.kubernetes.io/proxy-body-size: 2m`,
		"Timeouts":     `nginx.ingress.kubernetes.io/proxy-read-timeout: "5"`,
	}
	typ := reflect.TypeFor[routecfg.RoutePolicy]()
	for i := range typ.NumField() {
		field := typ.Field(i).Name
		ann, ok := cases[field]
		if !ok {
			t.Errorf("RoutePolicy.%s has no case: add the annotation that sets it alone", field)
			continue
		}
		t.Run(field, func(t *testing.T) {
			input := ingressYAML("main", "", ann) + `
---
apiVersion: v1
kind: Secret
metadata: {name: users, namespace: default}
stringData:
  auth: "ann:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="
`
			if field == "Canary" {
				input += "---\n" + ingressYAML("canary", "other", "nginx.ingress.kubernetes.io/canary: \"true\"\n    nginx.ingress.kubernetes.io/canary-weight: \"10\"")
				input += "---\napiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: default}\nspec: {ports: [{port: 80}]}\n"
			}
			objs, diags := k8s.Decode([]byte(input), "input.yaml")
			cfg, ds := Translate(store.FromObjects(objs, diags), Options{IngressClass: "nginx", WatchWithoutClass: true})
			if len(cfg.VirtualHosts) != 1 || len(cfg.VirtualHosts[0].Routes) == 0 {
				t.Fatalf("no route:\n%s%v", dump.Config(cfg), ds)
			}
			rt := cfg.VirtualHosts[0].Routes[0]
			if rt.Policy == nil || reflect.ValueOf(rt.Policy).Elem().FieldByName(field).IsNil() {
				t.Errorf("%s alone: the route does not carry it:\n%s%v", field, dump.Config(cfg), ds)
			}
		})
	}
}

func ingressYAML(name, svc, ann string) string {
	if svc == "" {
		svc = "svc"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  namespace: default
  annotations:
    %s
spec:
  rules:
  - host: a.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: %s, port: {number: 80}}}
`, name, cmp.Or(ann, "x: y"), svc)
	return b.String()
}
