package convert

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

func convertString(t *testing.T, in string, opts Options) (string, []Change) {
	t.Helper()
	out, changes, err := File([]byte(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), changes
}

// validateV1 checks what the API server's validation requires of a
// networking.k8s.io/v1 Ingress beyond its schema (pkg/apis/networking/
// validation): a pathType on every path, absolute paths for Prefix and
// Exact, backends naming exactly one of service and resource, a service
// port by exactly one of name and number, and DNS-1123 hosts.
func validateV1(ing *networkingv1.Ingress, checkHosts bool) []string {
	var errs []string
	backend := func(field string, b *networkingv1.IngressBackend) {
		switch {
		case b == nil:
			errs = append(errs, field+": required")
		case (b.Service == nil) == (b.Resource == nil):
			errs = append(errs, field+": exactly one of service and resource")
		case b.Service != nil:
			if b.Service.Name == "" {
				errs = append(errs, field+".service.name: required")
			}
			p := b.Service.Port
			if (p.Name == "") == (p.Number == 0) {
				errs = append(errs, field+".service.port: exactly one of name and number")
			}
			if p.Number < 0 || p.Number > 65535 {
				errs = append(errs, field+".service.port.number: out of range")
			}
			if p.Name != "" && len(validation.IsValidPortName(p.Name)) > 0 {
				errs = append(errs, field+".service.port.name: invalid")
			}
		}
	}
	if ing.Spec.DefaultBackend != nil {
		backend("spec.defaultBackend", ing.Spec.DefaultBackend)
	}
	if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
		errs = append(errs, "spec: either defaultBackend or rules must be specified")
	}
	for i, r := range ing.Spec.Rules {
		if checkHosts && r.Host != "" && len(validation.IsDNS1123Subdomain(strings.TrimPrefix(r.Host, "*."))) > 0 {
			errs = append(errs, fmt.Sprintf("spec.rules[%d].host: invalid", i))
		}
		if r.HTTP == nil {
			continue
		}
		for j, p := range r.HTTP.Paths {
			f := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			if p.PathType == nil {
				errs = append(errs, f+".pathType: required")
			} else if *p.PathType != networkingv1.PathTypeImplementationSpecific && !strings.HasPrefix(p.Path, "/") {
				errs = append(errs, f+".path: must be absolute")
			}
			backend(f+".backend", &p.Backend)
		}
	}
	return errs
}

// decodeV1 decodes converted output and fails on anything that is not
// plain networking.k8s.io/v1.
func decodeV1(t *testing.T, out string) ([]store.Object, []diag.Diagnostic) {
	t.Helper()
	objs, diags := k8s.Decode([]byte(out), "converted.yaml")
	for _, d := range diags {
		switch d.Reason {
		case k8s.ReasonDeprecatedAPI, k8s.ReasonUnknownField, k8s.ReasonParseError, k8s.ReasonInvalid, k8s.ReasonQuotedPort:
			t.Errorf("converted output: %s\n%s", d, out)
		}
	}
	return objs, diags
}

func routes(objs []store.Object, class string) string {
	cfg, _ := translate.Translate(store.FromObjects(objs, nil), translate.Options{IngressClass: class, WatchWithoutClass: true})
	return dump.Config(cfg)
}

func reasons(ds []diag.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Reason+" "+d.Object.String()+" "+d.Field)
	}
	sort.Strings(out)
	return out
}

// TestBlogPost converts the post's manifests as written: the result
// decodes as networking.k8s.io/v1 with every required field, routes
// exactly as the originals, and keeps every finding but the removed API
// version for lint to report.
func TestBlogPost(t *testing.T) {
	dir := "../../examples/blog-post/as-written"
	files, _ := k8s.ManifestFiles([]string{dir})
	var orig, conv strings.Builder
	converted := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, changes := convertString(t, string(data), Options{})
		converted += len(changes)
		if len(changes) == 0 && out != string(data) {
			t.Errorf("%s has nothing to convert but changed:\n%s", f, out)
		}
		orig.WriteString(string(data) + "\n---\n")
		conv.WriteString(out + "\n---\n")
	}
	if converted != 2 {
		t.Errorf("converted %d objects, want the post's 2 Ingresses", converted)
	}
	origObjs, origDiags := k8s.Decode([]byte(orig.String()), "orig.yaml")
	convObjs, convDiags := decodeV1(t, conv.String())
	for _, o := range convObjs {
		if ing, ok := o.Obj.(*networkingv1.Ingress); ok {
			// The placeholder host stays: it is for the user to fill in.
			if errs := validateV1(ing, false); len(errs) > 0 {
				t.Errorf("ingress %s: %v", ing.Name, errs)
			}
		}
	}
	for _, class := range []string{"nginx", "moat"} {
		if a, b := routes(origObjs, class), routes(convObjs, class); a != b {
			t.Errorf("class %s: routes differ\n--- original\n%s--- converted\n%s", class, a, b)
		}
	}
	opts := translate.Options{IngressClass: "nginx", WatchWithoutClass: true, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	_, before := translate.Translate(store.FromObjects(origObjs, origDiags), opts)
	_, after := translate.Translate(store.FromObjects(convObjs, convDiags), opts)
	var want []diag.Diagnostic
	for _, d := range before {
		if d.Reason != k8s.ReasonDeprecatedAPI {
			want = append(want, d)
		}
	}
	if a, b := strings.Join(reasons(want), "\n"), strings.Join(reasons(after), "\n"); a != b {
		t.Errorf("findings after conversion differ from the original's minus DeprecatedAPIVersion\n--- want\n%s\n--- got\n%s", a, b)
	}
}

// TestBlogPostFilledIn converts the post's TLS Ingress with its
// placeholder filled in (as envsubst would): every field, hosts included,
// then passes the API's validation.
func TestBlogPostFilledIn(t *testing.T) {
	data, err := os.ReadFile("../../examples/blog-post/as-written/web-app-tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.ReplaceAll(string(data), "${YOUR_CERTIFICATE_COMMON_NAME}", "my-web-app.com")
	out, _ := convertString(t, in, Options{MoveClassAnnotation: true})
	objs, _ := decodeV1(t, out)
	ing := objs[0].Obj.(*networkingv1.Ingress)
	if errs := validateV1(ing, true); len(errs) > 0 {
		t.Errorf("%v\n%s", errs, out)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || ing.Annotations["kubernetes.io/ingress.class"] != "" {
		t.Errorf("class not moved:\n%s", out)
	}
}

func TestConvert(t *testing.T) {
	cases := []struct {
		name, in, want string
		opts           Options
	}{
		{
			name: "backends, pathType, comments and order kept",
			in: `# the shop
apiVersion: networking.k8s.io/v1beta1   # old
kind: Ingress
metadata:
  name: shop
spec:
  backend:
    serviceName: fallback
    servicePort: http
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api   # the API
        backend:
          serviceName: api  # api service
          servicePort: "8080"
      - path: /
        pathType: Exact
        backend: {serviceName: web, servicePort: 80}
`,
			want: `# the shop
apiVersion: networking.k8s.io/v1 # old
kind: Ingress
metadata:
  name: shop
spec:
  defaultBackend:
    service:
      name: fallback
      port:
        name: http
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /api # the API
        pathType: ImplementationSpecific
        backend:
          service:
            name: api # api service
            port:
              number: 8080
      - path: /
        pathType: Exact
        backend: {service: {name: web, port: {number: 80}}}
`,
		},
		{
			name: "other documents byte for byte",
			in: "kind: Service\napiVersion: v1\nmetadata:   {name: web}   # odd spacing\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: new}\n" +
				"spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}\n--- # next\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec: {backend: {serviceName: web, servicePort: 80}}\n",
			want: "kind: Service\napiVersion: v1\nmetadata:   {name: web}   # odd spacing\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: new}\n" +
				"spec: {defaultBackend: {service: {name: web, port: {number: 80}}}}\n---\n# next\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: old}\nspec: {defaultBackend: {service: {name: web, port: {number: 80}}}}\n",
		},
		{
			name: "IngressClass and a typed list",
			in: `apiVersion: networking.k8s.io/v1beta1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: extensions/v1beta1
kind: IngressList
items:
- metadata: {name: a}
  spec:
    rules:
    - http:
        paths:
        - backend: {serviceName: a, servicePort: 80}
`,
			want: `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: IngressList
items:
- metadata: {name: a}
  spec:
    rules:
    - http:
        paths:
        - pathType: ImplementationSpecific
          backend: {service: {name: a, port: {number: 80}}}
`,
		},
		{
			name: "class annotation moved on request",
			opts: Options{MoveClassAnnotation: true},
			in: `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  annotations:
    kubernetes.io/ingress.class: nginx
spec:
  backend: {serviceName: web, servicePort: 80}
`,
			want: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
`,
		},
		{
			name: "JSON stays JSON",
			in:   `{"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "j"}, "spec": {"backend": {"serviceName": "web", "servicePort": 80}}}` + "\n",
			want: `{
  "apiVersion": "networking.k8s.io/v1",
  "kind": "Ingress",
  "metadata": {
    "name": "j"
  },
  "spec": {
    "defaultBackend": {
      "service": {
        "name": "web",
        "port": {
          "number": 80
        }
      }
    }
  }
}
`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changes := convertString(t, tc.in, tc.opts)
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			if len(changes) == 0 {
				t.Errorf("no changes reported")
			}
			objs, _ := decodeV1(t, got)
			for _, o := range objs {
				if ing, ok := o.Obj.(*networkingv1.Ingress); ok {
					if errs := validateV1(ing, true); len(errs) > 0 {
						t.Errorf("%s: %v", ing.Name, errs)
					}
				}
			}
		})
	}
}

// TestRoutesUnchanged converts a set of legacy Ingresses that exercise
// path matching (prefixes, regex, rewrite, a default backend, a shared
// host) and checks that moat routes the result exactly as the original.
func TestRoutesUnchanged(t *testing.T) {
	in := `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80, name: http}]}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: a
  annotations: {kubernetes.io/ingress.class: nginx}
spec:
  backend: {serviceName: web, servicePort: http}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api, backend: {serviceName: web, servicePort: 80}}
      - {path: /api/, backend: {serviceName: web, servicePort: 80}}
      - {path: /, backend: {serviceName: web, servicePort: 80}}
      - {path: /static, pathType: Prefix, backend: {serviceName: web, servicePort: 80}}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: b
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  rules:
  - host: regex.example.com
    http:
      paths:
      - {path: /app(/|$)(.*), backend: {serviceName: web, servicePort: 80}}
      - {path: /, backend: {serviceName: web, servicePort: 80}}
`
	out, changes := convertString(t, in, Options{MoveClassAnnotation: true})
	if len(changes) != 2 {
		t.Fatalf("changes = %v", changes)
	}
	origObjs, _ := k8s.Decode([]byte(in), "in.yaml")
	convObjs, _ := decodeV1(t, out)
	for _, class := range []string{"nginx", "moat"} {
		if a, b := routes(origObjs, class), routes(convObjs, class); a != b {
			t.Errorf("class %s: routes differ\n--- original\n%s--- converted\n%s\n%s", class, a, b, out)
		}
	}
}

func TestChangeString(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}\nspec: {rules: [{http: {paths: [{path: /a, backend: {serviceName: s, servicePort: \"80\"}}]}}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	_, changes := convertString(t, string(data), Options{})
	got := changes[0].String()
	for _, want := range []string{"ingress x (line 1): extensions/v1beta1 -> networking.k8s.io/v1", `quoted "80" written as port number 80`, "pathType ImplementationSpecific"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}
