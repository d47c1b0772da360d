package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/cli"
)

// runIO executes moat with args and stdin, returning stdout, stderr (with
// the error main would print) and the exit status main would use.
func runIO(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.Execute()
	if err == nil {
		return out.String(), errOut.String(), 0
	}
	errOut.WriteString("moat: " + err.Error() + "\n")
	return out.String(), errOut.String(), cli.ExitCode(err)
}

// run is runIO with stdout and stderr together.
func run(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	out, errOut, code := runIO(t, stdin, args...)
	return out + errOut, code
}

func TestLintExitStatus(t *testing.T) {
	out, code := run(t, "", "lint", "../../examples/blog-post/as-written")
	if code != 1 {
		t.Errorf("blog post as written: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"web-app-tls.yaml:9: warning TLSEntrySplit",
		"web-app-tls.yaml:12: error TLSSecretNotFound",
		"web-app-tls.yaml:7: warning AnnotationPrefixIgnored",
		"web-app-tls.yaml:1: warning DeprecatedAPIVersion",
		"web-ingress.yaml:1: warning DeprecatedAPIVersion",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The corrected manifests keep class nginx: moat serves them with
	// --ingress-class nginx (the example's README); without it lint says
	// moat would leave them unserved. Its only finding then is the
	// throwaway key it keeps in plain text.
	if out, code := run(t, "", "lint", "--ingress-class", "nginx", "../../examples/blog-post/corrected"); code != 0 || !strings.Contains(out, "warning PlainPrivateKey") || !strings.Contains(out, "0 errors, 1 warning") {
		t.Errorf("corrected: exit %d\n%s", code, out)
	}
	if out, code := run(t, "", "lint", "--fail-on", "warning", "../../examples/blog-post/corrected"); code != 1 || !strings.Contains(out, `warning IngressNotServed`) || !strings.Contains(out, `ingress class "nginx"`) {
		t.Errorf("corrected without --ingress-class nginx, --fail-on warning: exit %d\n%s", code, out)
	}

	warnOnly := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
`
	if out, code := run(t, warnOnly, "lint", "-"); code != 0 || !strings.Contains(out, "IngressNotServed") || strings.Contains(out, "NoReadyEndpoints") {
		t.Errorf("warnings only (and no endpoints judged without any in the input): exit %d\n%s", code, out)
	}
	if out, code := run(t, warnOnly, "lint", "--strict", "-"); code != 1 {
		t.Errorf("--strict with a warning: exit %d\n%s", code, out)
	}
	if out, code := run(t, warnOnly, "lint", "--fail-on", "warning", "-o", "github", "-"); code != 1 || !strings.HasPrefix(out, "::warning title=moat lint IngressNotServed::ingress default/web") {
		t.Errorf("--fail-on warning -o github: exit %d\n%s", code, out)
	}
	if out, code := run(t, warnOnly, "lint", "--fail-on", "error", "-o", "sarif", "-"); code != 0 || !strings.Contains(out, `"version": "2.1.0"`) {
		t.Errorf("--fail-on error -o sarif: exit %d\n%s", code, out)
	}
	if out, code := run(t, "", "lint", "-o", "yaml", "-"); code != 2 || !strings.Contains(out, "use text, json, sarif or github") {
		t.Errorf("-o yaml: exit %d\n%s", code, out)
	}
	if out, code := run(t, "", "lint", "--fail-on", "info", "-"); code != 2 || !strings.Contains(out, "use error or warning") {
		t.Errorf("--fail-on info: exit %d\n%s", code, out)
	}
	if out, code := run(t, "", "lint", "-n", "shop", "x.yaml"); code != 2 || !strings.Contains(out, "need --kubeconfig") {
		t.Errorf("--namespace without --kubeconfig: exit %d\n%s", code, out)
	}
	if out, code := run(t, "", "lint", "--kubeconfig", "k", "x.yaml"); code != 2 || !strings.Contains(out, "not both") {
		t.Errorf("paths and --kubeconfig: exit %d\n%s", code, out)
	}
	if _, code := run(t, ""); code != 0 {
		t.Errorf("no args: exit %d", code)
	}
}

func TestLintJSON(t *testing.T) {
	out, _, code := runIO(t, "", "lint", "-o", "json", "../../examples/blog-post/as-written")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var rep struct {
		Diagnostics []struct {
			Reason string
			Object struct {
				File string
				Line int
			}
		}
		Summary struct{ Errors int }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	if rep.Summary.Errors == 0 || len(rep.Diagnostics) == 0 || rep.Diagnostics[0].Object.Line == 0 {
		t.Errorf("report = %+v", rep)
	}
}
