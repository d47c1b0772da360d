package k8s

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

func svc(name string) string {
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n"
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestManifestFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"b.yaml":            svc("b"),
		"a.yml":             svc("a"),
		"c.JSON":            `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}}`,
		"README.md":         "not a manifest",
		".hidden.yaml":      svc("hidden"),
		".git/config.yaml":  svc("git"),
		"sub/deeper/d.yaml": svc("d"),
		"other/e.yaml":      svc("e"),
	})
	// A ConfigMap volume: the data lives in a hidden timestamped
	// directory, reached through "..data" and top-level symlinks.
	cm := filepath.Join(root, "cm")
	writeFiles(t, cm, map[string]string{"..2024_01_01/f.yaml": svc("f")})
	must(t, os.Symlink("..2024_01_01", filepath.Join(cm, "..data")))
	must(t, os.Symlink("..data/f.yaml", filepath.Join(cm, "f.yaml")))
	// A symlink loop must not hang the walk.
	must(t, os.Symlink("..", filepath.Join(root, "sub", "loop")))

	files, diags := ManifestFiles([]string{root, filepath.Join(root, ".hidden.yaml"), filepath.Join(root, "other")})
	checkDiags(t, diags)
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(root, f)
		rel = append(rel, r)
	}
	want := ".hidden.yaml a.yml b.yaml c.JSON cm/f.yaml other/e.yaml sub/deeper/d.yaml"
	if got := strings.Join(rel, " "); got != want {
		t.Errorf("files = %s\n want %s", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDecodeFiles(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"1-base/svc.yaml":     svc("web") + "spec:\n  ports: [{port: 80}]\n",
		"2-override/svc.yaml": "# override\n" + svc("web") + "spec:\n  ports: [{port: 8080}]\n",
		"broken.yaml":         "apiVersion: v1\nkind: [\n---\n" + svc("after-broken"),
		"explicit.txt":        svc("explicit"),
	})
	missing := filepath.Join(root, "nope.yaml")
	objs, diags := DecodeFiles([]string{root, missing, filepath.Join(root, "explicit.txt")})

	checkKeys(t, objs, "Service default/web@2", "Service default/after-broken@4", "Service default/explicit@1")
	overrideFile := filepath.Join(root, "2-override", "svc.yaml")
	if objs[0].Origin.File != overrideFile {
		t.Errorf("web came from %s, want %s", objs[0].Origin.File, overrideFile)
	}
	if p := objs[0].Obj.(*corev1.Service).Spec.Ports[0].Port; p != 8080 {
		t.Errorf("web port = %d, want the later file's 8080", p)
	}
	checkDiags(t, diags,
		want{sev: diag.Error, reason: ReasonPathNotFound, in: missing + " does not exist"},
		want{sev: diag.Error, reason: ReasonParseError, line: 2, in: filepath.Join(root, "broken.yaml") + ":2"},
		want{sev: diag.Warning, reason: ReasonDuplicateObject,
			in: filepath.Join(root, "1-base", "svc.yaml") + ":1 and " + overrideFile + ":2"},
	)
}

func TestDecodeFilesUnreadable(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"b.yaml": svc("b")})
	// A regular file whose read fails even for root (tests run as root in
	// CI, where a chmod 0 file would still be readable): reading the
	// process's own memory at offset 0 is an I/O error on Linux.
	const unreadable = "/proc/self/mem"
	if _, err := os.Stat(unreadable); err != nil {
		t.Fatalf("this test needs Linux's %s: %v", unreadable, err)
	}
	must(t, os.Symlink(unreadable, filepath.Join(root, "a.yaml")))
	objs, diags := DecodeFiles([]string{root})
	checkKeys(t, objs, "Service default/b@1")
	checkDiags(t, diags, want{sev: diag.Error, reason: ReasonFileReadError, in: "a.yaml"})
}
