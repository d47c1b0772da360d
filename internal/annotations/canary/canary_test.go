package canary

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "c"})
}

func TestNotACanary(t *testing.T) {
	if c := Parse(reader()); c != nil {
		t.Fatalf("no annotations: %+v", c)
	}
	r := reader("canary-weight", "10")
	if c := Parse(r); c != nil {
		t.Fatalf("weight without canary: %+v", c)
	}
	// Reported by annotations.CheckNeeds (registry tests).
	if len(r.Diags) != 0 {
		t.Fatalf("diags %v", r.Diags)
	}
}

func TestParse(t *testing.T) {
	r := reader("canary", "true", "canary-by-header", "x-canary", "canary-by-header-value", "yes",
		"canary-by-cookie", "use_canary", "canary-weight", "30", "canary-weight-total", "1000")
	c := Parse(r)
	if len(r.Diags) != 0 {
		t.Fatalf("diags %v", r.Diags)
	}
	if c.Header != "X-Canary" || c.HeaderValue != "yes" || c.Cookie != "use_canary" || c.Weight != 30 || c.WeightTotal != 1000 {
		t.Fatalf("%+v", c)
	}
	c = Parse(reader("canary", "true", "canary-by-header", "X-Mode", "canary-by-header-pattern", "^(beta|alpha)$"))
	if c.HeaderPattern == nil || !c.HeaderPattern.MatchString("beta") || c.WeightTotal != 100 {
		t.Fatalf("%+v", c)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		key, value, reason string
	}{
		{"canary", "yes please", "AnnotationInvalidValue"},
		{"canary-weight", "ten", "AnnotationInvalidValue"},
		{"canary-weight", "-5", "AnnotationInvalidValue"},
		{"canary-weight", "1.5", "AnnotationInvalidValue"},
		{"canary-weight-total", "0", "AnnotationInvalidValue"},
		{"canary-weight-total", "50", "CanaryWeightTotalBelow100"},
		{"canary-by-header", "bad header", "AnnotationInvalidValue"},
		{"canary-by-header-pattern", `(a)\1`, "AnnotationInvalidValue"},
		{"canary-by-header-pattern", `(?<=x)y`, "AnnotationInvalidValue"},
		{"canary-by-cookie", "a;b", "AnnotationInvalidValue"},
		{"canary-by-header-value", "v", "CanaryHeaderMissing"},
	}
	for _, tc := range cases {
		kv := []string{tc.key, tc.value}
		if tc.key != "canary" {
			kv = append(kv, "canary", "true")
		}
		if strings.HasPrefix(tc.key, "canary-by-header-pattern") {
			kv = append(kv, "canary-by-header", "X-A")
		}
		r := reader(kv...)
		Parse(r)
		found := false
		for _, d := range r.Diags {
			if d.Reason == tc.reason && strings.HasSuffix(d.Field, "/"+tc.key) {
				found = true
				if tc.reason == "AnnotationInvalidValue" && !strings.Contains(d.Message, strconv.Quote(tc.value)) {
					t.Errorf("%s=%q: message does not name the value: %s", tc.key, tc.value, d.Message)
				}
			}
		}
		if !found {
			t.Errorf("%s=%q: want %s, got %v", tc.key, tc.value, tc.reason, r.Diags)
		}
	}
}

func TestPatternIgnoredWithValue(t *testing.T) {
	r := reader("canary", "true", "canary-by-header", "X-A", "canary-by-header-value", "v", "canary-by-header-pattern", "v.*")
	c := Parse(r)
	if c.HeaderPattern != nil || len(r.Diags) != 1 || r.Diags[0].Reason != "CanaryPatternIgnored" {
		t.Fatalf("%+v %v", c, r.Diags)
	}
}
