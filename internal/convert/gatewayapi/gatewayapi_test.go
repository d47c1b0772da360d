package gatewayapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// docs splits the output and returns each document by "Kind ns/name".
func docs(t *testing.T, out []byte) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		d, err := r.Read()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
		}
		if err := sigsyaml.Unmarshal(d, &o); err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		m[o.Kind+" "+o.Metadata.Namespace+"/"+o.Metadata.Name] = d
	}
}

func convert(t *testing.T, in string) (map[string][]byte, []Diagnostic) {
	t.Helper()
	out, diags, err := Convert([]byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return docs(t, out), diags
}

func httpRoute(t *testing.T, d []byte) gwv1.HTTPRoute {
	t.Helper()
	var r gwv1.HTTPRoute
	if err := sigsyaml.UnmarshalStrict(d, &r); err != nil {
		t.Fatalf("%v in\n%s", err, d)
	}
	return r
}

const head = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: shop
  annotations:
`

func TestPathTypesAndRegex(t *testing.T) {
	m, diags := convert(t, head+`    nginx.ingress.kubernetes.io/x: "1"
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /e, pathType: Exact, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /p, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /i, pathType: ImplementationSpecific, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /n, pathType: Prefix, backend: {service: {name: s, port: {name: http}}}}
`)
	r := httpRoute(t, m["HTTPRoute shop/app"])
	var got []string
	for _, rule := range r.Spec.Rules {
		got = append(got, string(*rule.Matches[0].Path.Type)+" "+*rule.Matches[0].Path.Value)
	}
	if want := "Exact /e,PathPrefix /p,PathPrefix /i,PathPrefix /n"; strings.Join(got, ",") != want {
		t.Errorf("matches %v, want %s", got, want)
	}
	if len(r.Spec.Rules[3].BackendRefs) != 0 {
		t.Errorf("a named port has no backendRef to guess: %v", r.Spec.Rules[3].BackendRefs)
	}
	// The unknown annotation, the ImplementationSpecific prefix and the
	// named port are reported, and the first is kept as a comment.
	if len(diags) != 3 {
		t.Fatalf("diagnostics %v", diags)
	}
	for i, want := range []string{"annotations.nginx.ingress.kubernetes.io/x", "paths[2].pathType", "paths[3].backend.service.port.name"} {
		if !strings.Contains(diags[i].Field, want) || diags[i].Object != "Ingress shop/app" {
			t.Errorf("diagnostic %d = %v, want field %s", i, diags[i], want)
		}
	}
	if !strings.HasPrefix(string(m["HTTPRoute shop/app"]), "# moat convert: from Ingress shop/app") ||
		!strings.Contains(string(m["HTTPRoute shop/app"]), `nginx.ingress.kubernetes.io/x: not expressible in Gateway API; kept as a comment (value "1")`) {
		t.Errorf("no comment:\n%s", m["HTTPRoute shop/app"])
	}

	m, _ = convert(t, head+`    nginx.ingress.kubernetes.io/use-regex: "true"
spec:
  rules:
  - http:
      paths:
      - {path: "/r/[0-9]+", pathType: ImplementationSpecific, backend: {service: {name: s, port: {number: 80}}}}
`)
	r = httpRoute(t, m["HTTPRoute shop/app"])
	if p := r.Spec.Rules[0].Matches[0].Path; *p.Type != gwv1.PathMatchRegularExpression || *p.Value != "(?i)/r/[0-9]+.*" || r.Spec.Hostnames != nil {
		t.Errorf("use-regex: %s %s hostnames %v", *p.Type, *p.Value, r.Spec.Hostnames)
	}
}

func TestTLSListenersRedirectAndGrant(t *testing.T) {
	m, diags := convert(t, head+`    nginx.ingress.kubernetes.io/permanent-redirect: https://x.example/y?q=1
    nginx.ingress.kubernetes.io/permanent-redirect-code: "308"
spec:
  ingressClassName: public
  tls: [{hosts: [a.example.com], secretName: a-tls}]
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
`)
	var gw gwv1.Gateway
	if err := sigsyaml.UnmarshalStrict(m["Gateway default/public"], &gw); err != nil {
		t.Fatal(err)
	}
	ls := gw.Spec.Listeners
	if gw.Spec.GatewayClassName != "moat" || len(ls) != 2 || ls[1].Protocol != gwv1.HTTPSProtocolType ||
		string(*ls[1].Hostname) != "a.example.com" || ls[1].TLS.CertificateRefs[0].Name != "a-tls" || string(*ls[1].TLS.CertificateRefs[0].Namespace) != "shop" {
		t.Fatalf("gateway %+v", gw.Spec)
	}
	if !bytes.Contains(m["ReferenceGrant shop/moat-gateway-certificates"], []byte("name: a-tls")) {
		t.Errorf("no ReferenceGrant for the Secret: %v", m)
	}
	if !bytes.Contains(m["GatewayClass /moat"], []byte("controllerName: moat.dev/gateway-controller")) {
		t.Errorf("gatewayclass %s", m["GatewayClass /moat"])
	}
	redir := httpRoute(t, m["HTTPRoute shop/app-https-redirect"])
	if f := redir.Spec.Rules[0].Filters[0].RequestRedirect; *f.Scheme != "https" || *f.StatusCode != 308 || *redir.Spec.ParentRefs[0].SectionName != "http" {
		t.Errorf("ssl-redirect route %+v", redir.Spec)
	}
	r := httpRoute(t, m["HTTPRoute shop/app"])
	f := r.Spec.Rules[0].Filters[0].RequestRedirect
	if *r.Spec.ParentRefs[0].SectionName != ls[1].Name || *f.Scheme != "https" || *f.Hostname != "x.example" ||
		*f.Path.ReplaceFullPath != "/y" || *f.StatusCode != 308 || len(r.Spec.Rules[0].BackendRefs) != 0 {
		t.Errorf("permanent-redirect route %+v", r.Spec)
	}
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "query") {
		t.Errorf("the dropped query must be reported: %v", diags)
	}
}

func TestRewriteTarget(t *testing.T) {
	for _, c := range []struct{ path, target, want string }{
		{"/api(/|$)(.*)", "/$2", "PathPrefix /api ReplacePrefixMatch /"},
		{"/old", "/new", "PathPrefix /old ReplaceFullPath /new"},
		{"/x/(.*)", "/$1", ""},
	} {
		m, diags := convert(t, head+`    nginx.ingress.kubernetes.io/rewrite-target: "`+c.target+`"
spec:
  rules:
  - http:
      paths:
      - {path: "`+c.path+`", pathType: ImplementationSpecific, backend: {service: {name: s, port: {number: 80}}}}
`)
		r := httpRoute(t, m["HTTPRoute shop/app"])
		if c.want == "" {
			if len(r.Spec.Rules) != 0 || len(diags) != 1 {
				t.Errorf("%s %s: rules %v diags %v, want none and one report", c.path, c.target, r.Spec.Rules, diags)
			}
			continue
		}
		rule := r.Spec.Rules[0]
		p := rule.Filters[0].URLRewrite.Path
		v := p.ReplaceFullPath
		if v == nil {
			v = p.ReplacePrefixMatch
		}
		if got := string(*rule.Matches[0].Path.Type) + " " + *rule.Matches[0].Path.Value + " " + string(p.Type) + " " + *v; got != c.want {
			t.Errorf("%s %s: %s, want %s", c.path, c.target, got, c.want)
		}
	}
}

func TestCanary(t *testing.T) {
	main := head + `    {}
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: main, port: {number: 80}}}}
`
	canary := `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-canary
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "3"
    nginx.ingress.kubernetes.io/canary-weight-total: "10"
    nginx.ingress.kubernetes.io/canary-by-header: X-Beta
    nginx.ingress.kubernetes.io/canary-by-header-pattern: "^y"
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: next, port: {number: 80}}}}
`
	m, diags := convert(t, main+canary)
	if len(diags) != 0 || m["HTTPRoute shop/app-canary"] != nil {
		t.Fatalf("diags %v; the canary merges into the main route: %v", diags, m)
	}
	r := httpRoute(t, m["HTTPRoute shop/app"])
	if len(r.Spec.Rules) != 2 {
		t.Fatalf("rules %+v", r.Spec.Rules)
	}
	h := r.Spec.Rules[0].Matches[0].Headers[0]
	if h.Name != "X-Beta" || *h.Type != gwv1.HeaderMatchRegularExpression || h.Value != "^y" || r.Spec.Rules[0].BackendRefs[0].Name != "next" {
		t.Errorf("header rule %+v", r.Spec.Rules[0])
	}
	b := r.Spec.Rules[1].BackendRefs
	if len(b) != 2 || b[0].Name != "main" || *b[0].Weight != 7 || b[1].Name != "next" || *b[1].Weight != 3 {
		t.Errorf("weighted rule %+v", b)
	}

	// A canary without its main Ingress is reported.
	_, diags = convert(t, strings.TrimPrefix(canary, "---\n"))
	if len(diags) != 1 || diags[0].Object != "Ingress shop/app-canary" {
		t.Errorf("orphan canary: %v", diags)
	}
}

func TestGRPCPassthroughAndDefaultBackend(t *testing.T) {
	m, diags := convert(t, head+`    nginx.ingress.kubernetes.io/backend-protocol: GRPC
spec:
  tls: [{hosts: [g.example.com], secretName: g}]
  rules:
  - host: g.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: g, port: {number: 50051}}}}
      - {path: /pkg.Svc, pathType: Prefix, backend: {service: {name: h, port: {number: 50051}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: pt
  namespace: shop
  annotations: {nginx.ingress.kubernetes.io/ssl-passthrough: "true"}
spec:
  rules:
  - host: p.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: p, port: {number: 443}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: def, namespace: shop}
spec:
  defaultBackend: {service: {name: d, port: {number: 80}}}
  rules:
  - host: d.example.com
    http:
      paths:
      - {path: /x, pathType: Prefix, backend: {service: {name: x, port: {number: 80}}}}
`)
	if len(diags) != 0 {
		t.Errorf("diags %v", diags)
	}
	var g gwv1.GRPCRoute
	if err := sigsyaml.UnmarshalStrict(m["GRPCRoute shop/app"], &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Spec.Rules) != 2 || g.Spec.Rules[0].Matches != nil || *g.Spec.Rules[1].Matches[0].Method.Service != "pkg.Svc" || g.Spec.Rules[1].BackendRefs[0].Name != "h" {
		t.Errorf("grpcroute %+v", g.Spec)
	}
	var tr gwv1.TLSRoute
	if err := sigsyaml.UnmarshalStrict(m["TLSRoute shop/pt"], &tr); err != nil {
		t.Fatal(err)
	}
	if *tr.Spec.ParentRefs[0].SectionName != "tls-p-example-com" || tr.Spec.Rules[0].BackendRefs[0].Name != "p" {
		t.Errorf("tlsroute %+v", tr.Spec)
	}
	if !bytes.Contains(m["Gateway default/default"], []byte("mode: Passthrough")) {
		t.Errorf("no passthrough listener:\n%s", m["Gateway default/default"])
	}
	d := httpRoute(t, m["HTTPRoute shop/def"])
	if len(d.Spec.Rules) != 2 || *d.Spec.Rules[1].Matches[0].Path.Value != "/" || d.Spec.Rules[1].BackendRefs[0].Name != "d" {
		t.Errorf("defaultBackend %+v", d.Spec.Rules)
	}
}

func TestOtherDocumentsAndLegacy(t *testing.T) {
	out, _, err := Convert([]byte("# c\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n"), Options{})
	if err != nil || string(out) != "# c\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n" {
		t.Errorf("service not copied: %q %v", out, err)
	}
	if _, _, err := Convert([]byte("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: s}\n"), Options{}); err == nil ||
		!strings.Contains(err.Error(), "document 1") {
		t.Errorf("legacy Ingress: %v", err)
	}
}

// TestServerAliasAndAppRoot: aliases join the route's hostnames and, for
// a TLS host, get HTTPS listeners with the host's certificate; app-root
// is a 302 for "/" before the paths.
func TestServerAliasAndAppRoot(t *testing.T) {
	m, diags := convert(t, head+`    nginx.ingress.kubernetes.io/server-alias: "b.example.com, c.example.com"
    nginx.ingress.kubernetes.io/app-root: /app
spec:
  tls: [{hosts: [a.example.com], secretName: a-tls}]
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}
`)
	if len(diags) != 0 {
		t.Errorf("diags %v", diags)
	}
	r := httpRoute(t, m["HTTPRoute shop/app"])
	if fmt.Sprint(r.Spec.Hostnames) != "[a.example.com b.example.com c.example.com]" || len(r.Spec.ParentRefs) != 3 ||
		*r.Spec.ParentRefs[2].SectionName != "https-c-example-com" {
		t.Errorf("aliases: %v %v", r.Spec.Hostnames, r.Spec.ParentRefs)
	}
	if !bytes.Contains(m["Gateway default/default"], []byte("hostname: c.example.com")) {
		t.Errorf("no listener for the alias:\n%s", m["Gateway default/default"])
	}
	first := r.Spec.Rules[0]
	if *first.Matches[0].Path.Type != gwv1.PathMatchExact || *first.Filters[0].RequestRedirect.Path.ReplaceFullPath != "/app" ||
		*first.Filters[0].RequestRedirect.StatusCode != 302 {
		t.Errorf("app-root rule %+v", first)
	}
}

// TestManyPathsSplit: the HTTPRoute CRD allows 16 rules, so 20 paths make
// two routes for the same hostname.
func TestManyPathsSplit(t *testing.T) {
	var paths strings.Builder
	for i := range 20 {
		fmt.Fprintf(&paths, "      - {path: /p%d, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}\n", i)
	}
	m, _ := convert(t, head+"    {}\nspec:\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n"+paths.String())
	a, b := httpRoute(t, m["HTTPRoute shop/app"]), httpRoute(t, m["HTTPRoute shop/app-part2"])
	if len(a.Spec.Rules) != 16 || len(b.Spec.Rules) != 4 || *b.Spec.Rules[3].Matches[0].Path.Value != "/p19" || b.Spec.Hostnames[0] != "a.example.com" {
		t.Errorf("split: %d + %d rules", len(a.Spec.Rules), len(b.Spec.Rules))
	}
}

// FuzzConvert: any input gives output or an error, never a panic, and
// the output of an accepted input is valid YAML.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(head + "    nginx.ingress.kubernetes.io/canary: \"true\"\nspec: {defaultBackend: {service: {name: s, port: {number: 1}}}}\n"))
	f.Add([]byte(head + "    nginx.ingress.kubernetes.io/rewrite-target: /$2\n    nginx.ingress.kubernetes.io/permanent-redirect: \"h://\"\nspec:\n  tls: [{}]\n  rules: [{http: {paths: [{path: \"/a(/|$)(.*)\"}]}}]\n"))
	f.Add([]byte(head + "    nginx.ingress.kubernetes.io/ssl-passthrough: \"true\"\n    nginx.ingress.kubernetes.io/backend-protocol: grpc\nspec: {rules: [{host: a}]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := Convert(in, Options{})
		if err != nil {
			return
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
		for {
			d, err := r.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("output not YAML: %v\n%s", err, out)
			}
			var v any
			if err := sigsyaml.Unmarshal(d, &v); err != nil {
				t.Fatalf("output document not YAML: %v\n%s", err, d)
			}
		}
	})
}

// TestSSLRedirectOff: a TLS host with ssl-redirect "false" is served on
// both listeners and gets no redirect route.
func TestSSLRedirectOff(t *testing.T) {
	m, _ := convert(t, head+`    nginx.ingress.kubernetes.io/ssl-redirect: "false"
spec:
  tls: [{hosts: [a.example.com], secretName: a-tls}]
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}
`)
	r := httpRoute(t, m["HTTPRoute shop/app"])
	if m["HTTPRoute shop/app-https-redirect"] != nil || len(r.Spec.ParentRefs) != 2 || *r.Spec.ParentRefs[1].SectionName != "http" {
		t.Errorf("parents %v, redirect route %s", r.Spec.ParentRefs, m["HTTPRoute shop/app-https-redirect"])
	}
}
