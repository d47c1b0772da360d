package nginxval

import (
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
)

func reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "x"})
}

func TestReadersReportKeyAndValue(t *testing.T) {
	r := reader("a", "10x", "b", "60s", "c", "-1", "d", "maybe", "e", "999999")
	if v, _ := Size(r, "a", 7); v != 7 {
		t.Errorf("bad size kept %d, want default", v)
	}
	if v, _ := Seconds(r, "b", time.Second); v != time.Second {
		t.Errorf("bad seconds gave %v", v)
	}
	if v, _ := Int(r, "c", 3, 0, 10); v != 3 {
		t.Errorf("out of range int gave %d", v)
	}
	if v, _ := OneOf(r, "d", "on", "on", "off"); v != "on" {
		t.Errorf("bad option gave %q", v)
	}
	if v, _ := Seconds(r, "e", time.Second); v != time.Second {
		t.Errorf("huge seconds gave %v", v)
	}
	if len(r.Diags) != 5 {
		t.Fatalf("got %d diagnostics, want 5: %v", len(r.Diags), r.Diags)
	}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		d := r.Diags[i]
		if !strings.HasSuffix(d.Field, "/"+name) || d.Reason != "AnnotationInvalidValue" {
			t.Errorf("diag %d: %+v", i, d)
		}
	}
	if !strings.Contains(r.Diags[1].Message, "without a unit") {
		t.Errorf("60s message: %s", r.Diags[1].Message)
	}
	if v, ok := Seconds(reader("x", "15"), "x", 0); !ok || v != 15*time.Second {
		t.Errorf("Seconds(15) = %v %v", v, ok)
	}
}
