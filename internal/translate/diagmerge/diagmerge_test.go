package diagmerge

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// TestSpliceDiagsMatchesMerge checks Splice against Merge (a
// stable sort of everything) on random diagnostics drawn from small
// alphabets, so that ties on every sort key and equal diagnostics occur.
func TestSpliceDiagsMatchesMerge(t *testing.T) {
	for seed := range uint64(500) {
		r := rand.New(rand.NewPCG(seed, 7))
		pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
		random := func() diag.Diagnostic {
			return diag.Diagnostic{
				Object: diag.ObjectRef{Kind: pick(store.KindIngress, store.KindService, store.KindIngress),
					Namespace: pick("a", "b"), Name: pick("x", "y", "z"),
					Origin: diag.Origin{File: pick("", "f1", "f2"), Line: r.IntN(3)}},
				Reason:  pick("R1", "R2"),
				Field:   pick("", "spec"),
				Message: pick("m1", "m2"),
			}
		}
		list := func(n int) []diag.Diagnostic {
			var l []diag.Diagnostic
			for range r.IntN(n) {
				l = append(l, random())
			}
			return l
		}
		source, own := list(4), list(12)
		sorted := Merge(source, own)
		changed := map[string]bool{pick("a", "b") + "/" + pick("x", "y", "z"): true}
		about := func(d *diag.Diagnostic) bool {
			return d.Object.Kind == store.KindIngress && changed[d.Object.Namespace+"/"+d.Object.Name]
		}
		var add []diag.Diagnostic
		for _, d := range list(4) {
			d.Object.Kind = store.KindIngress
			if about(&d) {
				add = append(add, d)
			}
		}
		if r.IntN(3) == 0 {
			// The changed Ingress's diagnostics stay as they were.
			add = nil
			for _, d := range own {
				if about(&d) {
					add = append(add, d)
				}
			}
		}
		got, ok := Splice(sorted, source, slices.Clone(source), about, add)
		if slices.ContainsFunc(source, func(d diag.Diagnostic) bool { return about(&d) }) {
			if ok {
				t.Fatalf("seed %d: spliced although a source diagnostic names a changed Ingress", seed)
			}
			continue
		}
		if !ok {
			t.Fatalf("seed %d: declined", seed)
		}
		want := Merge(source, append(slices.DeleteFunc(slices.Clone(own), func(d diag.Diagnostic) bool { return about(&d) }), add...))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d:\n got %v\nwant %v", seed, got, want)
		}
	}
}

// TestSpliceDiagsDeclinesNewSource: a change to the sources' findings
// needs the full merge.
func TestSpliceDiagsDeclinesNewSource(t *testing.T) {
	d := diag.Diagnostic{Object: diag.ObjectRef{Kind: store.KindService, Name: "s"}, Reason: "R"}
	if _, ok := Splice(Merge(nil, nil), nil, []diag.Diagnostic{d}, func(*diag.Diagnostic) bool { return false }, nil); ok {
		t.Fatal("spliced over changed source diagnostics")
	}
}
