package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

// repoInput is what a repository holds: Services without EndpointSlices,
// Ingresses whose Secrets cert-manager issues, one Secret-less Ingress
// without cert-manager, one path without pathType.
const repoInput = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: issued
  namespace: shop
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
spec:
  ingressClassName: moat
  tls: [{hosts: [a.example.com], secretName: a-tls}]
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: b-cert, namespace: shop}
spec:
  secretName: b-tls
  dnsNames: [b.example.com]
  issuerRef: {name: letsencrypt-prod, kind: ClusterIssuer}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c-cert, namespace: elsewhere}
spec: {secretName: c-tls}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: by-certificate, namespace: shop}
spec:
  ingressClassName: moat
  tls: [{hosts: [b.example.com], secretName: b-tls}, {hosts: [c.example.com], secretName: c-tls}]
  rules:
  - host: b.example.com
    http:
      paths:
      - {path: /, backend: {service: {name: web, port: {number: 80}}}}
`

// TestCIGate: lint of a repository fails only on what would really fail.
func TestCIGate(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "repo.yaml")
	if err := os.WriteFile(f, []byte(repoInput), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run([]string{f}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, d := range r.Diagnostics {
		count[d.Reason]++
	}
	if count["NoReadyEndpoints"] != 0 {
		t.Errorf("endpoints judged without any EndpointSlice in the input:\n%s", dump(r.Diagnostics))
	}
	// a-tls (annotation) and b-tls (Certificate) are cert-manager's; c-tls
	// is named by a Certificate of another namespace: still missing.
	if d := findDiag(r.Diagnostics, ReasonTLSSecretFromCertManager, f, 15); d == nil || d.Severity != diag.Info || !strings.Contains(d.Message, "cert-manager.io/cluster-issuer: letsencrypt-prod") {
		t.Errorf("annotation-issued Secret: %+v\n%s", d, dump(r.Diagnostics))
	}
	if d := findDiag(r.Diagnostics, ReasonTLSSecretFromCertManager, f, 40); d == nil || !strings.Contains(d.Message, "Certificate shop/b-cert") {
		t.Errorf("Certificate-issued Secret: %+v\n%s", d, dump(r.Diagnostics))
	}
	if count["TLSSecretNotFound"] != 1 || findDiag(r.Diagnostics, "TLSSecretNotFound", f, 40) == nil {
		t.Errorf("want exactly c-tls not found:\n%s", dump(r.Diagnostics))
	}
	if d := findDiag(r.Diagnostics, "PathTypeMissing", f, 45); d == nil || d.Severity != diag.Error {
		t.Errorf("missing pathType: %+v, want an error at line 45\n%s", d, dump(r.Diagnostics))
	}
	if !r.FailedAt(diag.Error) || r.Count(diag.Error) != 2 {
		t.Errorf("want 2 errors (c-tls, pathType):\n%s", dump(r.Diagnostics))
	}
}

// TestCIGatePasses: the same repository, fixed, passes --fail-on warning.
func TestCIGatePasses(t *testing.T) {
	fixed := strings.Replace(repoInput, ", {hosts: [c.example.com], secretName: c-tls}", "", 1)
	fixed = strings.Replace(fixed, "{path: /, backend", "{path: /, pathType: Prefix, backend", 1)
	r, err := Run([]string{"-"}, strings.NewReader(fixed), Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if r.FailedAt(diag.Warning) {
		t.Errorf("fixed repository fails --fail-on warning:\n%s", dump(r.Diagnostics))
	}
}

// TestUnservedClasses: the complaint of issue 12: ingress-nginx manifests
// (class nginx) linted as they are must say that moat, as run, leaves them
// unserved; with the in-place flags they pass.
func TestUnservedClasses(t *testing.T) {
	in := svc + "---\n" + ing("web", "a.example.com", "  ingressClassName: nginx\n") +
		"---\n" + strings.Replace(ing("legacy", "b.example.com", ""), "  name: legacy\n", "  name: legacy\n  annotations: {kubernetes.io/ingress.class: nginx}\n", 1)
	r, err := Run([]string{"-"}, strings.NewReader(in), Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range r.Diagnostics {
		if d.Reason == ReasonIngressNotServed {
			got = append(got, d.Object.Name+" "+d.Field)
			if !strings.Contains(d.Message, `"nginx"`) || d.Severity != diag.Warning {
				t.Errorf("message does not name the class or not a warning: %s", d)
			}
		}
	}
	if strings.Join(got, "; ") != "web spec.ingressClassName; legacy metadata.annotations.kubernetes.io/ingress.class" {
		t.Errorf("IngressNotServed on %q:\n%s", got, dump(r.Diagnostics))
	}
	if strings.HasPrefix(r.Summary(), "no problems found") {
		t.Errorf("summary: %s", r.Summary())
	}
	// In place: moat runs as class nginx.
	r, err = Run([]string{"-"}, strings.NewReader(in), Options{IngressClass: "nginx", ControllerClass: "k8s.io/ingress-nginx", WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Diagnostics {
		if d.Reason == ReasonIngressNotServed {
			t.Errorf("with --ingress-class nginx: %s", d)
		}
	}
	// An IngressClass nginx of controller k8s.io/ingress-nginx claims the
	// Ingress for moat run with --controller-class k8s.io/ingress-nginx,
	// whatever --ingress-class is.
	ic := "---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}\n"
	r, err = Run([]string{"-"}, strings.NewReader(svc+"---\n"+ing("web", "a.example.com", "  ingressClassName: nginx\n")+ic), Options{ControllerClass: "k8s.io/ingress-nginx", WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Diagnostics) != 0 {
		t.Errorf("IngressClass of the controller class:\n%s", dump(r.Diagnostics))
	}
}

func TestInlineOutputs(t *testing.T) {
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	defer func() { _ = os.Chdir(wd) }()
	if err := os.MkdirAll("deploy", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("deploy/repo.yaml", []byte(repoInput), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run([]string{"deploy"}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}

	var sb bytes.Buffer
	if err := WriteSARIF(&sb, r); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID      string `json:"id"`
						HelpURI string `json:"helpUri"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(sb.Bytes(), &log); err != nil {
		t.Fatalf("SARIF is not JSON: %v\n%s", err, sb.String())
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != len(r.Diagnostics) {
		t.Fatalf("SARIF: version %q, %d runs; want 2.1.0, one run with %d results\n%s", log.Version, len(log.Runs), len(r.Diagnostics), sb.String())
	}
	run := log.Runs[0]
	found := false
	for _, res := range run.Results {
		if rule := run.Tool.Driver.Rules[res.RuleIndex]; rule.ID != res.RuleID || !strings.HasSuffix(rule.HelpURI, "#"+strings.ToLower(res.RuleID)) {
			t.Errorf("result %s points at rule %+v", res.RuleID, rule)
		}
		if res.RuleID == "PathTypeMissing" {
			found = true
			l := res.Locations[0].Physical
			if res.Level != "error" || l.Artifact.URI != "deploy/repo.yaml" || l.Region.StartLine != 45 || !strings.Contains(res.Message.Text, "ingress shop/by-certificate") {
				t.Errorf("PathTypeMissing result: level %s at %s:%d: %s", res.Level, l.Artifact.URI, l.Region.StartLine, res.Message.Text)
			}
		}
		if res.RuleID == ReasonTLSSecretFromCertManager && res.Level != "note" {
			t.Errorf("%s level %s, want note", res.RuleID, res.Level)
		}
	}
	if !found {
		t.Errorf("no PathTypeMissing result:\n%s", sb.String())
	}

	var gb bytes.Buffer
	if err := WriteGitHub(&gb, r); err != nil {
		t.Fatal(err)
	}
	out := gb.String()
	for _, want := range []string{
		"::error file=deploy/repo.yaml,line=45,title=moat lint PathTypeMissing::ingress shop/by-certificate, spec.rules[0].http.paths[0].pathType: pathType is required",
		"::notice file=deploy/repo.yaml,line=15,title=moat lint TLSSecretFromCertManager::",
		"%0Ahint: ", // a hint goes on the same command, its newline escaped
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-o github lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "::") && l != r.Summary() {
			t.Errorf("stray line %q", l)
		}
	}
	if got := ghProperty("a:b,c%d\ne"); got != "a%3Ab%2Cc%25d%0Ae" {
		t.Errorf("ghProperty = %q", got)
	}
}
