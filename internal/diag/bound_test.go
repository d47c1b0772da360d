package diag

import (
	"fmt"
	"strings"
	"testing"
)

// TestBound: a diagnostic repeating a 10 MB value is cut to a bounded
// size that still says what is wrong, where and how long the value was.
func TestBound(t *testing.T) {
	big := strings.Repeat("a", 10<<20)
	d := Diagnostic{
		Object:   ObjectRef{Kind: "Ingress", Namespace: "default", Name: "web", Origin: Origin{File: "web.yaml", Line: 3}},
		Severity: Error, Reason: "AnnotationInvalidValue", Field: "metadata.annotations.x",
		Message: fmt.Sprintf("invalid value %q: expected an integer; the annotation is ignored", big),
		Hint:    "unquoted " + big,
	}
	b := d.Bound()
	if n := len(b.String()) + len(b.Hint); n > 2*maxText {
		t.Fatalf("bounded diagnostic is %d bytes", n)
	}
	for _, want := range []string{`"` + strings.Repeat("a", MaxValue) + `…"`, "(10485760 bytes)", "expected an integer; the annotation is ignored"} {
		if !strings.Contains(b.Message, want) {
			t.Errorf("message %.400q lacks %q", b.Message, want)
		}
	}
	if !strings.HasSuffix(b.Hint, "… (10485769 bytes)") {
		t.Errorf("hint ends %q", b.Hint[len(b.Hint)-40:])
	}
	// Short values are untouched, and Bound of a list without long values
	// is the same slice.
	small := []Diagnostic{{Message: `invalid value "12x": expected an integer`}, {Message: "fine"}}
	if got := Bound(small); &got[0] != &small[0] {
		t.Errorf("Bound copied a list that needed no change")
	}
	mixed := []Diagnostic{{Message: "fine"}, d}
	got := Bound(mixed)
	if got[0] != mixed[0] || len(got[1].Message) > maxText || mixed[1].Message != d.Message {
		t.Errorf("Bound(mixed) changed the short one or the input, or left the long one")
	}
	// Escapes and multi-byte runes are not split.
	esc := Diagnostic{Message: fmt.Sprintf("bad %q end", strings.Repeat("é\n", 300))}.Bound()
	if !strings.Contains(esc.Message, `…" (900 bytes) end`) || strings.Contains(esc.Message, "\ufffd") {
		t.Errorf("escaped value: %q", esc.Message)
	}
	// An unterminated quote is still bounded.
	if m := (Diagnostic{Message: `x "` + big}).Bound().Message; len(m) > maxText+32 {
		t.Errorf("unterminated quote: %d bytes", len(m))
	}
}

// TestBoundRedacts: a URL's password never appears in a diagnostic.
func TestBoundRedacts(t *testing.T) {
	d := Diagnostic{Message: `invalid value "https://user:s3cret@auth.example/check": bad`, Hint: "try http://u:p4ss@h/"}.Bound()
	if strings.Contains(d.Message+d.Hint, "s3cret") || strings.Contains(d.Hint, "p4ss") || !strings.Contains(d.Message, "user:xxxxx@auth.example") {
		t.Errorf("not redacted: %q / %q", d.Message, d.Hint)
	}
}
