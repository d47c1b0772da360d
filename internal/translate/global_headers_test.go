package translate

import (
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

const globalBase = `apiVersion: v1
kind: Service
metadata: {name: app, namespace: ns}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ns, annotations: {ANN}}
spec:
  rules:
  - host: a.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}
`

func translateGlobal(t *testing.T, ann, extra string) (*routecfg.Config, string) {
	t.Helper()
	objs, ds := k8s.Decode([]byte(strings.Replace(globalBase, "ANN", ann, 1)+"---\n"+extra), "m.yaml")
	if len(ds) > 0 {
		t.Fatalf("manifests: %v", ds)
	}
	cfg, diags := Translate(store.FromObjects(objs, nil), Options{IngressClass: "moat", WatchWithoutClass: true, ConfigMap: "ingress/moat", Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	return cfg, renderDiags(diags)
}

func TestGlobalHeaderConfigMaps(t *testing.T) {
	cfg, diags := translateGlobal(t, "", `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data: {proxy-set-headers: ingress/up, add-headers: other/resp, hide-headers: "x-powered-by"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: up, namespace: ingress}
data: {X-Env: prod, x-client: "$remote_addr", X-Time: "$msec", Host: "evil", "Bad Name": "x", X-Gone: ""}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: resp, namespace: other}
data: {X-Frame-Options: DENY, Content-Length: "1"}
`)
	g := cfg.Global
	var up []string
	for _, h := range g.ProxySetHeaders {
		up = append(up, h.Name+"="+h.Value.String())
	}
	if strings.Join(up, " ") != "X-Env=prod X-Gone= X-Client=${remote_addr}" {
		t.Errorf("proxy-set-headers = %v", up)
	}
	if len(g.AddHeaders) != 1 || g.AddHeaders[0].Name != "X-Frame-Options" || len(g.HideHeaders) != 1 || g.HideHeaders[0] != "X-Powered-By" {
		t.Errorf("add-headers %v, hide-headers %v", g.AddHeaders, g.HideHeaders)
	}
	for _, want := range []string{"GlobalHeaderInvalid configmap ingress/up @m.yaml", "data.X-Time", "$msec", "data.Host", "upstream-vhost", "data.Bad Name",
		"GlobalHeaderInvalid configmap other/resp", "data.Content-Length"} {
		if !strings.Contains(diags, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, diags)
		}
	}

	_, diags = translateGlobal(t, "", `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data: {add-headers: ingress/missing}
`)
	if !strings.Contains(diags, "GlobalHeadersNotFound configmap ingress/moat") || !strings.Contains(diags, "ingress/missing") {
		t.Errorf("missing ConfigMap:\n%s", diags)
	}
}

// TestControllerDefaults: limit-rate, limit-rate-after and
// denylist-source-range are defaults an Ingress's annotation replaces.
func TestControllerDefaults(t *testing.T) {
	cm := `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data: {limit-rate: "100", limit-rate-after: "10", denylist-source-range: "192.0.2.0/24", proxy-cookie-path: "/ /app/", proxy-cookie-domain: "internal.svc a.example"}
`
	route := func(cfg *routecfg.Config) *routecfg.RoutePolicy {
		for _, vh := range cfg.VirtualHosts {
			if vh.Host == "a.example" && len(vh.Routes) > 0 {
				return vh.Routes[0].Policy
			}
		}
		t.Fatal("no route for a.example")
		return nil
	}
	cfg, _ := translateGlobal(t, "", cm)
	p := route(cfg)
	if p == nil || p.Limits == nil || p.Limits.Rate != 100<<10 || p.Limits.RateAfter != 10<<10 || p.Access == nil || len(p.Access.Deny) != 1 {
		t.Fatalf("defaults: %+v", p)
	}
	if pr := p.ProxyRewrite; pr == nil || pr.CookiePath == nil || pr.CookiePath.From != "/" || pr.CookiePath.To != "/app/" || pr.CookieDomain == nil || pr.CookieDomain.From != "internal.svc" {
		t.Errorf("cookie defaults: %+v", p.ProxyRewrite)
	}
	cfg, _ = translateGlobal(t, `nginx.ingress.kubernetes.io/limit-rate: "5", nginx.ingress.kubernetes.io/denylist-source-range: "198.51.100.0/24", nginx.ingress.kubernetes.io/proxy-cookie-path: "off"`, cm)
	p = route(cfg)
	if p.Limits.Rate != 5<<10 || p.Limits.RateAfter != 10<<10 || p.Access.Deny[0].String() != "198.51.100.0/24" {
		t.Errorf("annotations over defaults: %+v %+v", p.Limits, p.Access)
	}
	if pr := p.ProxyRewrite; pr == nil || pr.CookiePath != nil || pr.CookieDomain == nil {
		t.Errorf("proxy-cookie-path off over the default: %+v", p.ProxyRewrite)
	}
}

// TestAnnotationValueWordBlocklist: an Ingress with a blocked word in an
// annotation value is not served; without one it is.
func TestAnnotationValueWordBlocklist(t *testing.T) {
	cm := `apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data: {annotation-value-word-blocklist: "load_module, lua_package"}
`
	served := func(cfg *routecfg.Config) bool {
		for _, vh := range cfg.VirtualHosts {
			if vh.Host == "a.example" {
				return true
			}
		}
		return false
	}
	cfg, diags := translateGlobal(t, `nginx.ingress.kubernetes.io/rewrite-target: "/x lua_package y"`, cm)
	if served(cfg) || !strings.Contains(diags, "AnnotationValueBlocked ingress ns/web") || !strings.Contains(diags, "lua_package") {
		t.Errorf("blocked word: served %v\n%s", served(cfg), diags)
	}
	cfg, diags = translateGlobal(t, `nginx.ingress.kubernetes.io/rewrite-target: "/x"`, cm)
	if !served(cfg) || strings.Contains(diags, "AnnotationValueBlocked") {
		t.Errorf("no blocked word: served %v\n%s", served(cfg), diags)
	}
}
