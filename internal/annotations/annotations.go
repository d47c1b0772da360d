// Package annotations holds what every annotation family shares: the key
// table type, typed value readers that return a diagnostic for every bad
// value, and the check for keys moat does not know.
//
// Each family lives in its own sub-package with a declarative table and a
// typed Parse. Families never read annotations outside their table.
package annotations

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
)

// DefaultPrefix is ingress-nginx's annotation prefix.
const DefaultPrefix = "nginx.ingress.kubernetes.io"

// Scope says where a key applies.
type Scope string

const (
	// ScopeIngress keys apply to the whole server (host) block.
	ScopeIngress Scope = "ingress"
	// ScopeLocation keys apply to each path of the Ingress that sets them.
	ScopeLocation Scope = "location"
)

// Status is moat's support for a key.
type Status string

const (
	Supported Status = "supported"
	Partial   Status = "partial"
	Refused   Status = "refused"
)

// Key describes one annotation key (without prefix).
type Key struct {
	Name   string
	Scope  Scope
	Risk   string
	Status Status
	// Doc is one line for docs/annotations.md: what the key does in moat;
	// for a partial key what differs, for a refused one why.
	Doc string
	// AliasOf names the key this one is a second name for (read only
	// when that key is unset), or "".
	AliasOf string
	// Needs, when set, is the key that enables this one: ingress-nginx
	// ignores this key without it, and moat says so (CheckNeeds).
	Needs *Needs
}

// Needs is what a key depends on.
type Needs struct {
	// Key enables the dependent key when set (to "true" with True, to
	// Value, case-insensitively, when Value is not "").
	Key   string
	True  bool
	Value string
	// Reason is the diagnostic's reason.
	Reason string
}

// Requires returns n for the dependent keys' tables.
func Requires(key, reason string) *Needs { return &Needs{Key: key, Reason: reason} }

// RequiresTrue is Requires for a boolean switch that must be "true".
func RequiresTrue(key, reason string) *Needs { return &Needs{Key: key, True: true, Reason: reason} }

// RequiresValue is Requires for a key that must have a given value.
func RequiresValue(key, value, reason string) *Needs {
	return &Needs{Key: key, Value: value, Reason: reason}
}

// CheckNeeds warns about every key set without the key that enables it
// (cors-* without enable-cors, auth-* without auth-url, ...): ingress-nginx
// ignores them silently; moat serves the route the same way and says so.
func CheckNeeds(prefix string, ann map[string]string, obj diag.ObjectRef, known map[string]Key) []diag.Diagnostic {
	if len(ann) == 0 {
		return nil
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []diag.Diagnostic
	for _, full := range keys {
		name, ok := strings.CutPrefix(full, prefix+"/")
		if !ok {
			continue
		}
		k, found := known[name]
		if !found || k.Needs == nil {
			continue
		}
		v, set := ann[prefix+"/"+k.Needs.Key]
		if set && k.Needs.True {
			b, err := nginx.ParseBool(v)
			set = err == nil && b
		}
		if set && k.Needs.Value != "" {
			set = strings.EqualFold(strings.TrimSpace(v), k.Needs.Value)
		}
		if set {
			continue
		}
		want := prefix + "/" + k.Needs.Key
		if k.Needs.True {
			want += `: "true"`
		}
		if k.Needs.Value != "" {
			want += `: "` + k.Needs.Value + `"`
		}
		out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: k.Needs.Reason, Field: "metadata.annotations." + full,
			Message: fmt.Sprintf("annotation %s has no effect without %s: ingress-nginx ignores it, and so does moat; the paths are served without it", full, want)})
	}
	return out
}

// Reader reads one Ingress's annotations under a prefix and collects
// diagnostics naming the key and value.
type Reader struct {
	Prefix      string
	Annotations map[string]string
	Object      diag.ObjectRef
	Diags       []diag.Diagnostic
}

// NewReader returns a reader; prefix "" means DefaultPrefix.
func NewReader(prefix string, ann map[string]string, obj diag.ObjectRef) *Reader {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Reader{Prefix: prefix, Annotations: ann, Object: obj}
}

// FullKey is "prefix/name".
func (r *Reader) FullKey(name string) string { return r.Prefix + "/" + name }

// Raw returns the value and whether the key is set.
func (r *Reader) Raw(name string) (string, bool) {
	if len(r.Annotations) == 0 {
		// Most Ingresses carry none; building every family's key for
		// them was a sixth of translate at 10,000 Ingresses.
		return "", false
	}
	v, ok := r.Annotations[r.FullKey(name)]
	return v, ok
}

// String returns the trimmed value, or def when unset.
func (r *Reader) String(name, def string) string {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}

// Bool parses "true"/"false" (as ingress-nginx's parser.GetBoolAnnotation,
// via nginx.ParseBool, the ConfigMap's grammar too); a bad value keeps def and is reported.
func (r *Reader) Bool(name string, def bool) bool {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	b, err := nginx.ParseBool(v)
	if err != nil {
		r.Invalid(name, v, "expected true or false")
		return def
	}
	return b
}

// Invalid records a bad value for a key.
func (r *Reader) Invalid(name, value, why string) {
	r.Diags = append(r.Diags, diag.Diagnostic{
		Object:   r.Object,
		Severity: diag.Error,
		Reason:   "AnnotationInvalidValue",
		Field:    "metadata.annotations." + r.FullKey(name),
		Message:  fmt.Sprintf("invalid value %q: %s; the annotation is ignored", value, why),
	})
}

// Missing returns a diagnostic for a key that another key requires.
func (r *Reader) Missing(name, why string) diag.Diagnostic {
	return diag.Diagnostic{Object: r.Object, Severity: diag.Error, Reason: "AnnotationMissing",
		Field: "metadata.annotations." + r.FullKey(name), Message: fmt.Sprintf("annotation %s is not set: %s", r.FullKey(name), why)}
}

// CheckUnknown reports annotations under the prefix that no table knows,
// and annotations under prefixes ingress-nginx ignores that look like ours.
// known maps key names (without prefix) to their table entry.
func CheckUnknown(prefix string, ann map[string]string, obj diag.ObjectRef, known map[string]Key) []diag.Diagnostic {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []diag.Diagnostic
	for _, full := range keys {
		p, name, ok := strings.Cut(full, "/")
		if !ok {
			continue
		}
		field := "metadata.annotations." + full
		switch {
		case p == prefix:
			k, found := known[name]
			if found && k.Status == Refused {
				out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "AnnotationRefused", Field: field,
					Message: fmt.Sprintf("annotation %s is not applied: %s", full, k.Doc)})
			} else if !found {
				d := diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "AnnotationUnknown", Field: field,
					Message: fmt.Sprintf("annotation %s is not supported by moat and is ignored", full)}
				if s := closest(name, known); s != "" {
					d.Hint = "did you mean " + prefix + "/" + s + "?"
				}
				out = append(out, d)
			}
		case p == "ingress.kubernetes.io" || p == "nginx.org" || p == "nginx.com":
			// ingress.kubernetes.io/ was the pre-0.9 prefix; ingress-nginx
			// has ignored it for years, so a copied manifest silently loses it.
			if _, found := known[name]; found {
				out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "AnnotationPrefixIgnored", Field: field,
					Message: fmt.Sprintf("annotation %s has a prefix ingress-nginx and moat ignore; it has no effect", full),
					Hint:    "use " + prefix + "/" + name})
			}
		}
	}
	return out
}

// closest suggests a known key within a small edit distance.
func closest(name string, known map[string]Key) string {
	best, bestD := "", 3
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// EditDistance is exported for "did you mean" elsewhere (Secret names).
func EditDistance(a, b string) int { return editDistance(a, b) }
