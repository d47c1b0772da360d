package k8s

import (
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

func TestSplitYAML(t *testing.T) {
	in := "a: 1\n---\n# c\nb: 2\n--- {c: 3}\n...\n\n---\r\nd: 4\r\n"
	var got [][3]int
	for _, d := range splitYAML([]byte(in)) {
		got = append(got, [3]int{d.firstLine, d.line, d.last})
	}
	want := [][3]int{{1, 1, 1}, {2, 4, 4}, {5, 5, 5}, {6, 0, 0}, {8, 9, 9}}
	if len(got) != len(want) {
		t.Fatalf("documents = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("document %d (firstLine, line, last) = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDecodeCRLF(t *testing.T) {
	in := "apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: List\r\nitems:\r\n- apiVersion: v1\r\n  kind: Service\r\n  metadata: {name: b}\r\n  spek: 1\r\n"
	objs, diags := Decode([]byte(in), "crlf.yaml")
	checkKeys(t, objs, "Service default/a@1", "Service default/b@9")
	checkDiags(t, diags, want{sev: diag.Warning, reason: ReasonUnknownField, line: 12, field: "spek"})
}

func TestLastKey(t *testing.T) {
	for in, want := range map[string]string{
		"spec.ports[0].nmae": "nmae",
		"spec.port80":        "port80",
		"spec.rules[0][1]":   "rules",
		"spek":               "spek",
	} {
		if got := lastKey(in); got != want {
			t.Errorf("lastKey(%q) = %q, want %q", in, got, want)
		}
	}
}
