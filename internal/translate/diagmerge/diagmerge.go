// Package diagmerge orders translate's result diagnostics: the
// snapshot sources' and translate's own merged in diag.Sort's order, and
// an incremental update's spliced into the last result without sorting
// thousands again. It knows nothing of Ingresses beyond a predicate, so
// the splice is tested against the full merge on its own.
package diagmerge

import (
	"slices"
	"sort"

	"github.com/moat-ingress/moat/internal/diag"
)

// Merge is the snapshot sources' diagnostics and translate's own, in
// diag.Sort's (stable) order; neither argument is changed.
func Merge(source, own []diag.Diagnostic) []diag.Diagnostic {
	out := make([]diag.Diagnostic, 0, len(source)+len(own))
	out = append(append(out, source...), own...)
	diag.Sort(out)
	return out
}

// Splice is Merge(source, own) for own changed from the last result's,
// sorted (which merged lastSource), only in the diagnostics about the
// changed Ingresses (about): it drops those from sorted and inserts add
// where a stable sort puts them (after every equal one: they come last
// in own). The result shares sorted when nothing changes; callers only
// read diagnostics. ok is false when source differs from lastSource or
// names a changed Ingress (about could not tell its diagnostics from
// translate's).
func Splice(sorted, lastSource, source []diag.Diagnostic, about func(*diag.Diagnostic) bool, add []diag.Diagnostic) ([]diag.Diagnostic, bool) {
	if !slices.Equal(source, lastSource) {
		return nil, false
	}
	for i := range source {
		if about(&source[i]) {
			return nil, false
		}
	}
	out := sorted
	var drop []int // ascending
	for i := range out {
		if about(&out[i]) {
			drop = append(drop, i)
		}
	}
	if len(drop) == 0 && len(add) == 0 {
		return out, true
	}
	add = slices.Clone(add)
	diag.Sort(add)
	if len(add) == len(drop) {
		// The changed Ingresses' diagnostics are what they were (a
		// certificate warning that stays): they tie with no other, so
		// they go back where they were, and the list is the same.
		same := true
		for k, i := range drop {
			if out[i] != add[k] {
				same = false
				break
			}
		}
		if same {
			return out, true
		}
	}
	// One copy, in runs between the dropped: out without drop, with add
	// merged in.
	merged := make([]diag.Diagnostic, 0, len(out)-len(drop)+len(add))
	keep := func(lo, hi int) {
		for len(drop) > 0 && drop[0] < hi {
			merged = append(merged, out[lo:drop[0]]...)
			lo, drop = drop[0]+1, drop[1:]
		}
		merged = append(merged, out[lo:hi]...)
	}
	i := 0
	for _, d := range add {
		// Upper bound: the first of out[i:] that sorts after d. The
		// dropped ones do not move it: out stays sorted without them.
		j := i + sort.Search(len(out)-i, func(k int) bool { return diagLess(&d, &out[i+k]) })
		keep(i, j)
		merged = append(merged, d)
		i = j
	}
	keep(i, len(out))
	return merged, true
}

// diagLess is diag.Sort's order.
func diagLess(a, b *diag.Diagnostic) bool {
	if a.Object.File != b.Object.File {
		return a.Object.File < b.Object.File
	}
	if a.Object.Line != b.Object.Line {
		return a.Object.Line < b.Object.Line
	}
	if as, bs := a.Object.String(), b.Object.String(); as != bs {
		return as < bs
	}
	if a.Field != b.Field {
		return a.Field < b.Field
	}
	return a.Reason < b.Reason
}
