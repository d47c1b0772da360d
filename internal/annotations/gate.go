package annotations

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
)

// Gate applies the controller's annotation policy to one Ingress, as
// ingress-nginx's sync path does. An annotation whose risk is above maxRisk
// (annotations-risk-level) makes the whole Ingress refused: there the
// annotation parser's risk check fails and the store skips the Ingress.
// A snippet annotation within the risk level while allow-snippet-annotations
// is false is only dropped (ingress-nginx's dropSnippetDirectives): the
// Ingress is served without it and Gate reports a warning naming it; only
// ingress-nginx's admission webhook would have rejected the object.
// Snippets are Critical, so with the default maxRisk "" (High) they are
// refused by risk before the snippet switch matters.
func Gate(prefix string, ann map[string]string, obj diag.ObjectRef, known map[string]Key, maxRisk string, allowSnippets bool) (ds []diag.Diagnostic, refused bool) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if maxRisk == "" {
		maxRisk = RiskHigh
	}
	maxRank := RiskRank(maxRisk)
	for full := range ann {
		p, name, ok := strings.Cut(full, "/")
		if !ok || p != prefix {
			continue
		}
		k, found := known[name]
		if !found {
			continue
		}
		if k.AliasOf != "" {
			if a, ok := known[k.AliasOf]; ok {
				k.Risk = a.Risk
			}
		}
		field := "metadata.annotations." + full
		switch {
		case RiskRank(k.Risk) > maxRank:
			refused = true
			ds = append(ds, diag.Diagnostic{Object: obj, Severity: diag.Error, Reason: "AnnotationRiskTooHigh", Field: field,
				Message: fmt.Sprintf("annotation %s has risk %s, above annotations-risk-level %s: the Ingress is not served, as ingress-nginx refuses it", full, k.Risk, maxRisk),
				Hint:    "remove the annotation, or raise annotations-risk-level in the controller ConfigMap"})
		case IsSnippet(name) && !allowSnippets:
			ds = append(ds, diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "AnnotationSnippetsDisabled", Field: field,
				Message: fmt.Sprintf("snippet annotation %s is ignored (allow-snippet-annotations is false); the rest of the Ingress is served, as ingress-nginx does (its admission webhook, where enabled, rejects the object)", full),
				Hint:    "remove the annotation, or set allow-snippet-annotations: \"true\" in the controller ConfigMap (moat then applies only a literal subset of directives)"})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Field < ds[j].Field })
	return ds, refused
}

// WithoutSnippets returns ann without the snippet annotations of prefix, or
// ann itself when it has none; the input map is never changed.
func WithoutSnippets(prefix string, ann map[string]string) map[string]string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	var out map[string]string
	for full := range ann {
		if name, ok := strings.CutPrefix(full, prefix+"/"); ok && IsSnippet(name) {
			if out == nil {
				out = make(map[string]string, len(ann))
				for k, v := range ann {
					out[k] = v
				}
			}
			delete(out, full)
		}
	}
	if out == nil {
		return ann
	}
	return out
}

// IsSnippet reports whether a key carries raw nginx configuration.
func IsSnippet(name string) bool { return strings.HasSuffix(name, "-snippet") }
