package annotations

import (
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

// TestGate follows ingress-nginx's sync path: a risk above the level refuses
// the Ingress; a snippet within it while snippets are disabled is only
// reported (the translator drops it) and the Ingress is served.
func TestGate(t *testing.T) {
	known := map[string]Key{
		"modsecurity-snippet":   {Name: "modsecurity-snippet", Risk: RiskCritical},
		"configuration-snippet": {Name: "configuration-snippet", Risk: RiskCritical},
		"enable-cors":           {Name: "enable-cors", Risk: RiskLow},
	}
	snip := map[string]string{"nginx.ingress.kubernetes.io/modsecurity-snippet": "SecRuleEngine On", "nginx.ingress.kubernetes.io/enable-cors": "true"}
	cases := []struct {
		name         string
		maxRisk      string
		allow        bool
		wantRefused  bool
		wantReason   string
		wantSeverity diag.Severity
	}{
		{"default level refuses a Critical snippet", "", false, true, "AnnotationRiskTooHigh", diag.Error},
		{"High refuses even when snippets are allowed", RiskHigh, true, true, "AnnotationRiskTooHigh", diag.Error},
		{"Critical with snippets disabled drops the snippet only", RiskCritical, false, false, "AnnotationSnippetsDisabled", diag.Warning},
		{"Critical with snippets allowed passes", RiskCritical, true, false, "", diag.Info},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, refused := Gate("", snip, diag.ObjectRef{Kind: "Ingress", Name: "a"}, known, c.maxRisk, c.allow)
			if refused != c.wantRefused {
				t.Errorf("refused = %v, want %v", refused, c.wantRefused)
			}
			if c.wantReason == "" {
				if len(ds) != 0 {
					t.Errorf("unexpected diagnostics %+v", ds)
				}
				return
			}
			if len(ds) != 1 || ds[0].Reason != c.wantReason || ds[0].Severity != c.wantSeverity ||
				ds[0].Field != "metadata.annotations.nginx.ingress.kubernetes.io/modsecurity-snippet" {
				t.Errorf("diagnostics %+v, want one %s %s naming the snippet", ds, c.wantSeverity, c.wantReason)
			}
		})
	}
}

func TestWithoutSnippets(t *testing.T) {
	in := map[string]string{"nginx.ingress.kubernetes.io/server-snippet": "x", "nginx.ingress.kubernetes.io/enable-cors": "true", "other.io/server-snippet": "y"}
	out := WithoutSnippets("", in)
	if len(out) != 2 || out["nginx.ingress.kubernetes.io/enable-cors"] != "true" || out["other.io/server-snippet"] != "y" {
		t.Errorf("got %v", out)
	}
	if len(in) != 3 {
		t.Errorf("input changed: %v", in)
	}
	plain := map[string]string{"nginx.ingress.kubernetes.io/enable-cors": "true"}
	if got := WithoutSnippets("", plain); len(got) != 1 {
		t.Errorf("got %v", got)
	}
}
