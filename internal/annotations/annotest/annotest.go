// Package annotest holds helpers for the annotation families' table
// tests: a Reader from key/value pairs and checks that a bad value was
// reported under its key, naming the value.
package annotest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
)

// Reader returns a reader over "key", "value" pairs (keys without the
// prefix) for Ingress ns/web.
func Reader(kv ...string) *annotations.Reader {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[annotations.DefaultPrefix+"/"+kv[i]] = kv[i+1]
	}
	return annotations.NewReader("", m, diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "web"})
}

// NoDiags fails the test when r collected any diagnostic.
func NoDiags(t testing.TB, r *annotations.Reader) {
	t.Helper()
	for _, d := range r.Diags {
		t.Errorf("unexpected diagnostic: %s %s: %s", d.Reason, d.Field, d.Message)
	}
}

// WantDiag fails the test unless r holds a diagnostic with reason on
// key's field; for AnnotationInvalidValue its message must also quote
// value. Other diagnostics are errors too: one bad value, one report.
func WantDiag(t testing.TB, r *annotations.Reader, key, value, reason string) {
	t.Helper()
	field := "metadata.annotations." + annotations.DefaultPrefix + "/" + key
	found := false
	for _, d := range r.Diags {
		if d.Reason != reason || d.Field != field {
			t.Errorf("%s=%q: unexpected diagnostic %s %s: %s", key, value, d.Reason, d.Field, d.Message)
			continue
		}
		if d.Severity != diag.Error {
			t.Errorf("%s=%q: severity %s, want error", key, value, d.Severity)
		}
		if reason == "AnnotationInvalidValue" && !strings.Contains(d.Message, strconv.Quote(value)) {
			t.Errorf("%s=%q: message does not name the value: %s", key, value, d.Message)
		}
		found = true
	}
	if !found {
		t.Errorf("%s=%q: want a %s diagnostic on %s, got %v", key, value, reason, field, r.Diags)
	}
}
