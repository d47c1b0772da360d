package translate

import (
	"sort"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/waf"
)

// FuzzAnnotations drives every annotation family's parser: two keys
// chosen by index from the registry (so every key of every family is
// reached), with fuzzed values, on an Ingress whose ConfigMap allows
// snippets at risk level Critical. Translate must not panic, every
// diagnostic must name an object, and a second run must agree.
func FuzzAnnotations(f *testing.F) {
	keys := make([]string, 0, len(registry.Known()))
	for k := range registry.Known() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seeds := map[string]string{
		"rewrite-target": "/$2", "use-regex": "true", "canary-weight": "30", "affinity": "cookie",
		"auth-url": "http://auth.example/check?u=$host", "auth-tls-verify-client": "on", "proxy-body-size": "8m",
		"limit-rps": "5", "whitelist-source-range": "10.0.0.0/8", "cors-allow-origin": "https://*.example",
		"configuration-snippet": `more_set_headers "X-A: 1";`, "custom-http-errors": "404,503",
		"backend-protocol": "GRPCS", "upstream-hash-by": "$request_uri", "permanent-redirect": "https://x.example",
		"proxy-connect-timeout": "5", "ssl-ciphers": "ECDHE-RSA-AES128-GCM-SHA256", "auth-cache-duration": "200 5m",
	}
	for i, k := range keys {
		v := seeds[k]
		if v == "" {
			v = "on"
		}
		f.Add(uint16(i), v, uint16((i*7)%len(keys)), "1")
	}
	// One WAF cache for every run: the Core Rule Set compiles once.
	wafs := waf.NewCache()
	f.Fuzz(func(t *testing.T, i uint16, v string, j uint16, w string) {
		a, b := keys[int(i)%len(keys)], keys[int(j)%len(keys)]
		ann := map[string]string{annotations.DefaultPrefix + "/" + a: v}
		if b != a {
			ann[annotations.DefaultPrefix+"/"+b] = w
		}
		objs := fuzzObjects(t, ann)
		opts := Options{IngressClass: "moat", WatchWithoutClass: true, ConfigMap: "ns/cm", Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), WAF: wafs}
		_, d1 := Translate(store.FromObjects(objs, nil), opts)
		_, d2 := Translate(store.FromObjects(objs, nil), opts)
		if len(d1) != len(d2) {
			t.Fatalf("%q: %d then %d diagnostics", ann, len(d1), len(d2))
		}
		for _, d := range d1 {
			if d.Object.Name == "" && d.Object.File == "" {
				t.Fatalf("%q: diagnostic names nothing: %+v", ann, d)
			}
		}
	})
}

func fuzzObjects(t *testing.T, ann map[string]string) []store.Object {
	base := `apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: ns}
data: {allow-snippet-annotations: "true", annotations-risk-level: Critical}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: ns}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: app-1, namespace: ns, labels: {kubernetes.io/service-name: app}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1], conditions: {ready: true}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ns}
spec:
  tls: [{hosts: [a.example], secretName: missing}]
  rules:
  - host: a.example
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: app, port: {name: http}}}}
`
	objs, diags := k8s.Decode([]byte(base), "fuzz.yaml")
	if len(diags) > 0 {
		t.Fatalf("base manifests: %v", diags)
	}
	found := false
	for _, o := range objs {
		if ing, ok := o.Obj.(*networkingv1.Ingress); ok {
			ing.Annotations, found = ann, true
		}
	}
	if !found {
		t.Fatal("no Ingress in the base manifests")
	}
	return objs
}
