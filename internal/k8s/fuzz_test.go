package k8s

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: any file content decodes into objects and diagnostics
// without panicking, and every object has a kind, a name and an origin in
// the file.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData: {a: b}\n",
		`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"i"},"spec":{"rules":[{"host":"a"}]}}`,
		"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec: {backend: {serviceName: s, servicePort: 80}}\n",
		"apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]\n",
		"---\n---\n- a\n", "a: &x [*x]\n", "\t", "kind: [",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := Decode(data, "fuzz.yaml")
		for _, o := range objs {
			if o.Obj == nil || o.Origin.File != "fuzz.yaml" {
				t.Fatalf("object without content or origin: %+v", o)
			}
		}
	})
}
