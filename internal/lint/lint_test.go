package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
)

const blogDir = "../../examples/blog-post"

func findDiag(ds []diag.Diagnostic, reason, file string, line int) *diag.Diagnostic {
	for i, d := range ds {
		if d.Reason == reason && d.Object.File == file && d.Object.Line == line {
			return &ds[i]
		}
	}
	return nil
}

func dump(ds []diag.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// TestBlogPostAsWritten is the acceptance check: the post's
// manifests fail lint, and each of its four mistakes is reported at its
// file and line with a hint saying how to fix it.
func TestBlogPostAsWritten(t *testing.T) {
	// The issue runs lint on examples/blog-post/, which also holds the
	// corrected copies of the same objects: each definition is checked.
	for _, dir := range []string{filepath.Join(blogDir, "as-written"), blogDir} {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkBlogPost(t, dir) })
	}
}

func checkBlogPost(t *testing.T, dir string) {
	r, err := Run([]string{dir}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Failed(false) {
		t.Errorf("lint passes the post's manifests")
	}
	tlsFile := filepath.Join(blogDir, "as-written", "web-app-tls.yaml")
	webFile := filepath.Join(blogDir, "as-written", "web-ingress.yaml")
	for _, w := range []struct {
		mistake, reason, file string
		line                  int
		hint                  []string
	}{
		{"tls list split in two", "TLSEntrySplit", tlsFile, 9, []string{"one list item", "secretName"}},
		{"tls list split in two", "TLSSecretNameMissing", tlsFile, 10, []string{"add secretName"}},
		{"tls list split in two", "TLSHostsMissing", tlsFile, 12, []string{"list the hosts"}},
		{"Secret name and namespace", "TLSSecretNotFound", tlsFile, 12, []string{"application/app-router-tls", "own namespace (default)"}},
		{"ignored annotation prefix", "AnnotationPrefixIgnored", tlsFile, 7, []string{"nginx.ingress.kubernetes.io/rewrite-target"}},
		{"removed API version", "DeprecatedAPIVersion", tlsFile, 1, []string{"networking.k8s.io/v1"}},
		{"removed API version", "DeprecatedAPIVersion", webFile, 1, []string{"networking.k8s.io/v1"}},
		// Not among the four, but the post's reader copies them too.
		{"placeholder host", "InvalidHost", tlsFile, 14, nil},
		{"deprecated class annotation", "DeprecatedClassAnnotation", tlsFile, 6, []string{"spec.ingressClassName: nginx"}},
	} {
		d := findDiag(r.Diagnostics, w.reason, w.file, w.line)
		if d == nil {
			t.Errorf("%s: no %s at %s:%d; got:\n%s", w.mistake, w.reason, w.file, w.line, dump(r.Diagnostics))
			continue
		}
		for _, h := range w.hint {
			if !strings.Contains(d.Hint, h) {
				t.Errorf("%s: %s hint %q lacks %q", w.mistake, w.reason, d.Hint, h)
			}
		}
	}
	if len(r.Classes) != 1 || r.Classes[0] != "nginx" {
		t.Errorf("classes = %v, want [nginx] (from the class annotation)", r.Classes)
	}
}

// TestShadowedDefinitions: when two files define the same object, serve
// uses the later one, but lint checks both.
func TestShadowedDefinitions(t *testing.T) {
	dir := t.TempDir()
	broken := ing("web", "${HOST}", "")
	for name, content := range map[string]string{"svc.yaml": svc, "a/web.yaml": broken, "b/web.yaml": ing("web", "a.example.com", "")} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Run([]string{dir}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if findDiag(r.Diagnostics, "InvalidHost", filepath.Join(dir, "a/web.yaml"), 7) == nil ||
		findDiag(r.Diagnostics, "DuplicateObject", filepath.Join(dir, "b/web.yaml"), 1) == nil || !r.Failed(false) {
		t.Errorf("shadowed definition not checked:\n%s", dump(r.Diagnostics))
	}
}

func TestBlogPostCorrectedIsClean(t *testing.T) {
	// The example's certificate is valid from 2026-11-27 to 2036.
	// Served as its README says: moat serve --ingress-class nginx.
	r, err := Run([]string{filepath.Join(blogDir, "corrected")}, nil, Options{IngressClass: "nginx", WatchWithoutClass: true, Now: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// The example keeps its throwaway key in plain text so that it runs
	// as it is; lint flags that, as it should, and nothing else.
	if len(r.Diagnostics) != 1 || r.Diagnostics[0].Reason != ReasonPlainPrivateKey {
		t.Errorf("corrected manifests have diagnostics other than the plain key's:\n%s", dump(r.Diagnostics))
	}
	if len(r.Files) != 4 || r.Objects != 4 {
		t.Errorf("read %d files, %d objects; want 4 and 4", len(r.Files), r.Objects)
	}
}

// TestClasses checks that without --ingress-class each class is checked on
// its own (no conflict between two controllers' Ingresses), and that with
// one only that class's Ingresses are.
func TestClasses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("svc.yaml", svc)
	write("a.yaml", ing("a", "shop.example.com", "  ingressClassName: nginx\n"))
	write("b.yaml", strings.Replace(ing("b", "shop.example.com", "  ingressClassName: traefik\n"), "name: web,", "name: missing,", 1))

	r, err := Run([]string{dir}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Classes, ",") != "nginx,traefik" {
		t.Errorf("classes = %v", r.Classes)
	}
	for _, d := range r.Diagnostics {
		if d.Reason == "PathConflict" || d.Reason == "IngressClassNotMatched" {
			t.Errorf("unexpected across classes: %s", d)
		}
	}
	if findDiag(r.Diagnostics, "ServiceNotFound", filepath.Join(dir, "b.yaml"), 13) == nil {
		t.Errorf("traefik Ingress not checked:\n%s", dump(r.Diagnostics))
	}

	r, err = Run([]string{dir}, nil, Options{IngressClass: "nginx", WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if findDiag(r.Diagnostics, "ServiceNotFound", filepath.Join(dir, "b.yaml"), 13) != nil ||
		findDiag(r.Diagnostics, "IngressNotServed", filepath.Join(dir, "b.yaml"), 6) == nil {
		t.Errorf("--ingress-class nginx:\n%s", dump(r.Diagnostics))
	}
}

func TestStdin(t *testing.T) {
	in := strings.NewReader(svc + "---\n" + ing("web", "${HOST}", ""))
	r, err := Run([]string{"-"}, in, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if findDiag(r.Diagnostics, "InvalidHost", StdinName, 19) == nil {
		t.Errorf("stdin:\n%s", dump(r.Diagnostics))
	}
	if len(r.Files) != 1 || r.Files[0] != StdinName {
		t.Errorf("files = %v", r.Files)
	}
}

func TestStrict(t *testing.T) {
	in := strings.NewReader(svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "path: /", "path: /api/.*", 1))
	r, err := Run([]string{"-"}, in, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed(false) || !r.Failed(true) {
		t.Errorf("warnings only: Failed(false)=%v Failed(true)=%v\n%s", r.Failed(false), r.Failed(true), dump(r.Diagnostics))
	}
}

func TestWriteText(t *testing.T) {
	in := strings.NewReader(svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n  - secretName: router-tls\n"))
	r, err := Run([]string{"-"}, in, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `<stdin>:20: error TLSSecretNotFound (ingress default/web, spec.tls[1].secretName)
    tls secret "router-tls" not found in namespace default: its hosts get the default certificate
      20 |   - secretName: router-tls
`
	if !strings.Contains(b.String(), want) {
		t.Errorf("text output lacks\n%s\ngot:\n%s", want, b.String())
	}
	// Multi-line hints stay aligned under "hint: ".
	if !strings.Contains(b.String(), "    hint: write one list item: - hosts: [...]\n              secretName: ...\n") {
		t.Errorf("hint layout:\n%s", b.String())
	}
	if !strings.HasSuffix(b.String(), "1 error, 3 warnings, 0 info (1 file, 3 objects, ingress class moat)\n") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestWriteJSON(t *testing.T) {
	r, err := Run([]string{filepath.Join(blogDir, "as-written")}, nil, Options{WatchWithoutClass: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Diagnostics []struct {
			Object struct {
				Kind, Namespace, Name, File string
				Line                        int
			}
			Severity, Reason, Field, Message, Hint string
		}
		Files   []string
		Summary struct{ Files, Objects, Errors, Warnings, Info int }
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if got.Summary.Files != 5 || got.Summary.Errors != r.Count(diag.Error) || len(got.Diagnostics) != len(r.Diagnostics) {
		t.Errorf("summary = %+v", got.Summary)
	}
	found := false
	for _, d := range got.Diagnostics {
		if d.Reason == "TLSSecretNotFound" && d.Severity == "error" && d.Object.Kind == "Ingress" && d.Object.Name == "web-app-tls" &&
			strings.HasSuffix(d.Object.File, "web-app-tls.yaml") && d.Object.Line == 12 && d.Field == "spec.tls[1].secretName" && d.Hint != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("TLSSecretNotFound missing from JSON:\n%s", b.String())
	}
}
