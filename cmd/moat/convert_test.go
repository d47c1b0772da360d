package main

import (
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
	if out, code := run(t, "", "convert", "-o", dir, "../../examples/blog-post/as-written"); code != 0 {
		t.Fatalf("-o: exit %d\n%s", code, out)
	}
	for _, f := range []string{"web-app-tls.yaml", "web-ingress.yaml", "secret.yaml", "service.yaml", "endpointslice.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("-o did not write %s: %v", f, err)
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
	if out, code := run(t, "", "convert", "-o", in, in); code == 0 || !strings.Contains(out, "would overwrite") {
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
