package registry

import (
	"os"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
)

// TestTablesMatchCatalogue: every family key is an ingress-nginx key or
// alias, listed once, with the catalogue's risk and scope.
func TestTablesMatchCatalogue(t *testing.T) {
	cat := map[string]annotations.Entry{}
	for _, e := range annotations.Catalogue {
		cat[e.Name] = e
	}
	if len(cat) != 136 {
		t.Errorf("catalogue has %d keys, want 136", len(cat))
	}
	seen := map[string]string{}
	for _, f := range Families() {
		for _, k := range f.Keys {
			if prev, dup := seen[k.Name]; dup {
				t.Errorf("%s: key %q is also in %s", f.Package, k.Name, prev)
			}
			seen[k.Name] = f.Package
			if k.Doc == "" || strings.Contains(k.Doc, "\n") {
				t.Errorf("%s: key %q needs a one-line Doc", f.Package, k.Name)
			}
			switch k.Status {
			case annotations.Supported, annotations.Partial, annotations.Refused:
			default:
				t.Errorf("%s: key %q has status %q", f.Package, k.Name, k.Status)
			}
			if _, ok := annotations.Aliases[k.Name]; ok {
				continue
			}
			e, ok := cat[k.Name]
			if !ok {
				t.Errorf("%s: key %q is not in ingress-nginx's catalogue", f.Package, k.Name)
				continue
			}
			if k.Risk != "" && k.Risk != e.Risk {
				t.Errorf("%s: key %q has risk %s, catalogue says %s", f.Package, k.Name, k.Risk, e.Risk)
			}
			if k.Scope != "" && k.Scope != e.Scope {
				t.Errorf("%s: key %q has scope %s, catalogue says %s", f.Package, k.Name, k.Scope, e.Scope)
			}
		}
	}
}

// TestDocsUpToDate fails when docs/annotations.md differs from the tables.
func TestDocsUpToDate(t *testing.T) {
	const path = "../../../docs/annotations.md"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go run ./internal/annotations/gen)", err)
	}
	if string(got) != Markdown() {
		t.Errorf("docs/annotations.md is stale: run go run ./internal/annotations/gen from the repository root")
	}
}
