package k8s

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// want describes one expected diagnostic; zero fields are not checked.
type want struct {
	sev    diag.Severity
	reason string
	line   int
	field  string
	// in must appear in the diagnostic's String().
	in string
}

func (w want) match(d diag.Diagnostic) bool {
	return d.Severity == w.sev && d.Reason == w.reason &&
		(w.line == 0 || d.Object.Line == w.line) &&
		(w.field == "" || d.Field == w.field) &&
		strings.Contains(d.String(), w.in)
}

// checkDiags requires each wanted diagnostic to be present and no other
// diagnostic at Warning or above, so unexpected findings fail loudly.
func checkDiags(t *testing.T, got []diag.Diagnostic, wants ...want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, d := range got {
			if !used[i] && w.match(d) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing diagnostic %+v; got:\n%s", w, dump(got))
		}
	}
	for i, d := range got {
		if !used[i] && d.Severity >= diag.Warning {
			t.Errorf("unexpected diagnostic: %s", d)
		}
	}
}

func dump(ds []diag.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s %s\n", d.Severity, d)
	}
	return b.String()
}

// keys renders objects as "Kind ns/name@line" for compact comparison.
func keys(objs []store.Object) []string {
	var out []string
	for _, o := range objs {
		k, _ := store.KeyOf(o.Obj)
		out = append(out, fmt.Sprintf("%s %s/%s@%d", k.Kind, k.Namespace, k.Name, o.Origin.Line))
	}
	return out
}

func checkKeys(t *testing.T, objs []store.Object, want ...string) {
	t.Helper()
	got := keys(objs)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\n got %q\nwant %q", got, want)
	}
}

// dedent strips the common leading tab indentation of a raw string
// fixture (tabs in Go source become no indentation in YAML).
func dedent(s string) string {
	lines := strings.Split(strings.TrimPrefix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, "\t")
	}
	return strings.Join(lines, "\n")
}
