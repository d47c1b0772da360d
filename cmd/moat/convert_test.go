package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvertCommand(t *testing.T) {
	out, code := run(t, "", "convert", "../../examples/blog-post/as-written")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "extensions/v1beta1 ->") || strings.Count(out, "apiVersion: networking.k8s.io/v1\n") != 2 {
		t.Errorf("stdout+stderr:\n%s", out)
	}

	dir := t.TempDir()
	if out, code := run(t, "", "convert", "--output-dir", dir, "../../examples/blog-post/as-written"); code != 0 {
		t.Fatalf("--output-dir: exit %d\n%s", code, out)
	}
	for _, f := range []string{"web-app-tls.yaml", "web-ingress.yaml", "secret.yaml", "service.yaml", "endpointslice.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--output-dir did not write %s: %v", f, err)
		}
	}
	orig, _ := os.ReadFile("../../examples/blog-post/as-written/service.yaml")
	if got, _ := os.ReadFile(filepath.Join(dir, "service.yaml")); string(got) != string(orig) {
		t.Errorf("service.yaml changed:\n%s", got)
	}
	// The converted set lints without the removed API version, and still
	// fails on the post's remaining mistakes.
	out, code = run(t, "", "lint", dir)
	if code != 1 || strings.Contains(out, "DeprecatedAPIVersion") || !strings.Contains(out, "TLSEntrySplit") {
		t.Errorf("lint of the converted post: exit %d\n%s", code, out)
	}

	// Writing over the input is refused.
	in := t.TempDir()
	legacy := "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}\nspec: {backend: {serviceName: s, servicePort: 80}}\n"
	if err := os.WriteFile(filepath.Join(in, "x.yaml"), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "", "convert", "--output-dir", in, in); code == 0 || !strings.Contains(out, "would overwrite") {
		t.Errorf("in place: exit %d\n%s", code, out)
	}
	if got, _ := os.ReadFile(filepath.Join(in, "x.yaml")); string(got) != legacy {
		t.Errorf("input modified")
	}
	// stdin.
	if out, code := run(t, legacy, "convert", "-"); code != 0 || !strings.Contains(out, "defaultBackend: {service: {name: s, port: {number: 80}}}") {
		t.Errorf("stdin: exit %d\n%s", code, out)
	}
}

// TestConvertOutputFormat: -o is the output format, as in moat lint and
// kubectl. -o json prints JSON (a List for several objects) and creates
// no directory named json; a directory given to -o is refused with a
// pointer to --output-dir, and nothing is written.
func TestConvertOutputFormat(t *testing.T) {
	t.Chdir(t.TempDir())
	legacy := "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}\nspec: {backend: {serviceName: s, servicePort: 80}}\n"
	out, errOut, code := runIO(t, legacy+"---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "convert", "-o", "json", "-")
	var list struct {
		Kind  string
		Items []struct {
			APIVersion string
			Kind       string
			Spec       struct {
				DefaultBackend struct{ Service struct{ Name string } }
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || list.Kind != "List" || len(list.Items) != 2 ||
		list.Items[0].APIVersion != "networking.k8s.io/v1" || list.Items[0].Spec.DefaultBackend.Service.Name != "s" || list.Items[1].Kind != "Service" {
		t.Errorf("-o json: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, err := os.Stat("json"); !os.IsNotExist(err) {
		t.Errorf("-o json created a directory named json (%v)", err)
	}
	out, errOut, code = runIO(t, legacy, "convert", "-o", "json", "-")
	var one map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || one["kind"] != "Ingress" {
		t.Errorf("-o json, one object: exit %d\n%s%s", code, out, errOut)
	}
	if out, code := run(t, legacy, "convert", "-o", "converted/", "-"); code == 0 || !strings.Contains(out, "--output-dir converted/") {
		t.Errorf("-o DIR: exit %d\n%s", code, out)
	}
	if _, err := os.Stat("converted"); !os.IsNotExist(err) {
		t.Errorf("-o converted/ created it (%v)", err)
	}
	if out, code := run(t, legacy, "convert", "-o", "json", "--output-dir", "d", "-"); code == 0 || !strings.Contains(out, "use one or the other") {
		t.Errorf("-o json --output-dir: exit %d\n%s", code, out)
	}
}

// TestConvertToGatewayAPI: --to gateway-api brings legacy Ingresses to v1
// first, prints Gateway API objects, and reports on stderr what it could
// not express.
func TestConvertToGatewayAPI(t *testing.T) {
	legacy := "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: x\n  annotations: {nginx.ingress.kubernetes.io/limit-rps: \"5\"}\n" +
		"spec:\n  rules:\n  - host: a.example.com\n    http: {paths: [{path: /, backend: {serviceName: s, servicePort: 80}}]}\n"
	out, errOut, code := runIO(t, legacy, "convert", "--to", "gateway-api", "--gateway-namespace", "infra", "-")
	if code != 0 || !strings.Contains(out, "kind: HTTPRoute") || !strings.Contains(out, "namespace: infra") ||
		!strings.Contains(out, "# moat convert: from Ingress default/x") || strings.Contains(out, "kind: Ingress\n") ||
		!strings.Contains(errOut, "not converted: Ingress default/x: metadata.annotations.nginx.ingress.kubernetes.io/limit-rps") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if out, code := run(t, legacy, "convert", "--to", "gateway", "-"); code == 0 || !strings.Contains(out, "gateway-api") {
		t.Errorf("--to gateway: exit %d\n%s", code, out)
	}
	if out, code := run(t, legacy, "convert", "--to", "gateway-api", "--output-dir", t.TempDir(), "-"); code == 0 || !strings.Contains(out, "--output-dir") {
		t.Errorf("--output-dir: exit %d\n%s", code, out)
	}
}
