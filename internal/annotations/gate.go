package annotations

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
)

// Gate applies the controller's annotation policy to one Ingress, as
// ingress-nginx does before parsing: an annotation whose risk is above
// maxRisk (annotations-risk-level), or a snippet annotation while
// allow-snippet-annotations is false, makes the whole Ingress refused.
// ingress-nginx skips such an Ingress entirely (its admission webhook
// rejects it); serving it without the annotation could drop access
// control the snippet or annotation carried, so moat does the same.
// maxRisk "" means High.
func Gate(prefix string, ann map[string]string, obj diag.ObjectRef, known map[string]Key, maxRisk string, allowSnippets bool) []diag.Diagnostic {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if maxRisk == "" {
		maxRisk = RiskHigh
	}
	maxRank := RiskRank(maxRisk)
	var out []diag.Diagnostic
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
		case IsSnippet(name) && !allowSnippets:
			out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Error, Reason: "AnnotationSnippetsDisabled", Field: field,
				Message: fmt.Sprintf("snippet annotation %s is not allowed (allow-snippet-annotations is false): the Ingress is not served, as ingress-nginx refuses it", full),
				Hint:    "remove the annotation, or set allow-snippet-annotations: \"true\" and annotations-risk-level: Critical in the controller ConfigMap (moat then applies only a literal subset of directives)"})
		case RiskRank(k.Risk) > maxRank:
			out = append(out, diag.Diagnostic{Object: obj, Severity: diag.Error, Reason: "AnnotationRiskTooHigh", Field: field,
				Message: fmt.Sprintf("annotation %s has risk %s, above annotations-risk-level %s: the Ingress is not served, as ingress-nginx refuses it", full, k.Risk, maxRisk),
				Hint:    "remove the annotation, or raise annotations-risk-level in the controller ConfigMap"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// IsSnippet reports whether a key carries raw nginx configuration.
func IsSnippet(name string) bool { return strings.HasSuffix(name, "-snippet") }
