package registry

import (
	"os"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
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

// TestNeeds: every key that depends on another is reported, naming it,
// when set alone, and not once its switch is on; a switch set to "false"
// still leaves it without effect.
func TestNeeds(t *testing.T) {
	obj := diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "web"}
	full := func(k string) string { return annotations.DefaultPrefix + "/" + k }
	n := 0
	for name, k := range Known() {
		if k.Needs == nil {
			continue
		}
		n++
		if _, ok := Known()[k.Needs.Key]; !ok {
			t.Errorf("%s needs unknown key %s", name, k.Needs.Key)
		}
		ds := annotations.CheckNeeds("", map[string]string{full(name): "x"}, obj, Known())
		if len(ds) != 1 || ds[0].Reason != k.Needs.Reason || ds[0].Severity != diag.Warning ||
			ds[0].Field != "metadata.annotations."+full(name) || !strings.Contains(ds[0].Message, full(k.Needs.Key)) {
			t.Errorf("%s alone: %v", name, ds)
		}
		on := "anything"
		if k.Needs.Value != "" {
			on = k.Needs.Value
		}
		if k.Needs.True {
			on = "true"
			if ds := annotations.CheckNeeds("", map[string]string{full(name): "x", full(k.Needs.Key): "false"}, obj, Known()); len(ds) != 1 {
				t.Errorf("%s with %s false: %v", name, k.Needs.Key, ds)
			}
		}
		if ds := annotations.CheckNeeds("", map[string]string{full(name): "x", full(k.Needs.Key): on}, obj, Known()); len(ds) != 0 {
			t.Errorf("%s with %s: %v", name, k.Needs.Key, ds)
		}
	}
	if n < 40 {
		t.Errorf("only %d keys declare what they need", n)
	}
	// Another prefix is honoured.
	if ds := annotations.CheckNeeds("example.com", map[string]string{"example.com/cors-max-age": "5", full("cors-max-age"): "5"}, obj, Known()); len(ds) != 1 ||
		ds[0].Field != "metadata.annotations.example.com/cors-max-age" {
		t.Errorf("custom prefix: %v", ds)
	}
}
