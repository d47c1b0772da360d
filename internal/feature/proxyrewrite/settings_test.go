package proxyrewrite_test

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

const manifests = `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data: {CM}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  annotations: {ANN}
spec:
  rules:
  - host: a.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}
`

func redirectOf(t *testing.T, cm, ann string) (*routecfg.TextRewrite, []diag.Diagnostic) {
	t.Helper()
	objs, ds := k8s.Decode([]byte(strings.NewReplacer("CM", cm, "ANN", ann).Replace(manifests)), "m.yaml")
	if len(ds) > 0 {
		t.Fatalf("manifests: %v", ds)
	}
	cfg, diags := translate.Translate(store.FromObjects(objs, nil), translate.Options{IngressClass: "moat", WatchWithoutClass: true, ConfigMap: "ingress/moat"})
	p := cfg.VirtualHosts[0].Routes[0].Policy
	if p == nil || p.ProxyRewrite == nil {
		return nil, diags
	}
	return p.ProxyRewrite.Redirect, diags
}

// TestConfigMapRedirectDefaults: the ConfigMap's proxy-redirect-from and
// -to apply to an Ingress that sets neither, each annotation replaces its
// own key only (ingress-nginx's proxy parser), and "off" in either turns
// the rewrite off.
func TestConfigMapRedirectDefaults(t *testing.T) {
	cm := `proxy-redirect-from: "http://svc.internal/", proxy-redirect-to: "https://a.example/"`
	for _, c := range []struct {
		name, cm, ann string
		from, to      string // "" for no rewrite
	}{
		{"defaults", cm, "", "http://svc.internal/", "https://a.example/"},
		{"annotation from", cm, `nginx.ingress.kubernetes.io/proxy-redirect-from: "http://other/"`, "http://other/", "https://a.example/"},
		{"annotation to", cm, `nginx.ingress.kubernetes.io/proxy-redirect-to: "/app/"`, "http://svc.internal/", "/app/"},
		{"annotation off", cm, `nginx.ingress.kubernetes.io/proxy-redirect-from: "off"`, "", ""},
		{"invalid annotation falls back", cm, `nginx.ingress.kubernetes.io/proxy-redirect-from: "http://x/$host"`, "http://svc.internal/", "https://a.example/"},
		{"from alone", `proxy-redirect-from: "http://svc.internal/"`, "", "", ""},
		{"to from the annotation", `proxy-redirect-to: "/x/"`, `nginx.ingress.kubernetes.io/proxy-redirect-from: "http://svc.internal/"`, "http://svc.internal/", "/x/"},
		{"unset", `x-unused: "1"`, "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rw, diags := redirectOf(t, c.cm, c.ann)
			if c.from == "" {
				if rw != nil {
					t.Fatalf("want no rewrite, got %+v", rw)
				}
				for _, d := range diags {
					if d.Reason == "ProxyRedirectToMissing" && c.ann == "" {
						t.Errorf("a warning on an annotation the Ingress does not set: %v", d)
					}
				}
				return
			}
			if rw == nil || rw.From != c.from || rw.To != c.to {
				t.Fatalf("want %s -> %s, got %+v (%v)", c.from, c.to, rw, diags)
			}
		})
	}
}

// TestConfigMapRedirectKeys: controllerconfig knows the feature's keys:
// documented, validated (a bad value keeps "off", reported) and not
// unknown.
func TestConfigMapRedirectKeys(t *testing.T) {
	obj := diag.ObjectRef{Kind: "ConfigMap", Namespace: "ingress", Name: "moat"}
	c, ds := controllerconfig.Parse(map[string]string{"proxy-redirect-from": "~http://(a", "proxy-redirect-to": "/ok/"}, obj)
	if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data.proxy-redirect-from" {
		t.Fatalf("diagnostics: %v", ds)
	}
	if c.Settings["proxy-redirect-from"] != "off" || c.Settings["proxy-redirect-to"] != "/ok/" {
		t.Errorf("settings: %v", c.Settings)
	}
	if _, ds := controllerconfig.Parse(map[string]string{"proxy-redirect-to": "a b"}, obj); len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" {
		t.Errorf("two words: %v", ds)
	}
	found := 0
	for _, k := range controllerconfig.Keys() {
		if k.Name == "proxy-redirect-from" || k.Name == "proxy-redirect-to" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("controllerconfig.Keys lists %d of the feature's 2 keys", found)
	}
}
