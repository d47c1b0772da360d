package reconcile

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/testutil"
)

func TestLogNewLogsEachDiagnosticOnceWhileItPersists(t *testing.T) {
	var buf testutil.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	lines := func() int { return strings.Count(buf.String(), "\n") }
	ing := func(name, reason, hint string) diag.Diagnostic {
		return diag.Diagnostic{Object: diag.ObjectRef{Kind: "Ingress", Namespace: "default", Name: name},
			Severity: diag.Warning, Reason: reason, Message: reason + " on " + name, Hint: hint}
	}
	var l Loop
	first := []diag.Diagnostic{ing("a", "TLSSecretNotFound", ""), ing("b", "TLSCertificateExpiringSoon", "renew it")}

	step := func(what string, diags []diag.Diagnostic, want int) {
		t.Helper()
		before := lines()
		l.logNew(log, diags)
		if got := lines() - before; got != want {
			t.Fatalf("%s: %d new log lines, want %d; log:\n%s", what, got, want, buf.String())
		}
	}
	step("first pass", first, 2)
	step("the same list again", first, 0)
	step("an equal list in a new slice", slices.Clone(first), 0)
	changed := slices.Clone(first)
	changed[1].Hint = "renew it soon"
	step("one hint changed, one diagnostic added", append(changed, ing("c", "BackendServiceNotFound", "")), 2)
	step("two gone", changed[:1], 0)
	step("they come back", changed, 1)
	if !strings.Contains(buf.String(), `"hint":"renew it soon"`) || !strings.Contains(buf.String(), `"reason":"BackendServiceNotFound"`) {
		t.Fatalf("log lacks the changed or added diagnostic:\n%s", buf.String())
	}
	step("none", nil, 0)
	step("none again", nil, 0)
	step("all back", first, 2)
}

// BenchmarkLogNew is one pass's logging at 10,000 Ingresses with 5,000
// certificate warnings: the list handed on unchanged, and a new list
// with one diagnostic changed.
func BenchmarkLogNew(b *testing.B) {
	diags := make([]diag.Diagnostic, 5000)
	for i := range diags {
		diags[i] = diag.Diagnostic{Object: diag.ObjectRef{Kind: "Secret", Namespace: "default", Name: fmt.Sprintf("tls-%d", i),
			Origin: diag.Origin{File: fmt.Sprintf("certs-%d.yaml", i/100), Line: i%100 + 1}},
			Severity: diag.Warning, Reason: "TLSCertificateExpiringSoon", Field: "data[tls.crt]",
			Message: "certificate expires in 6 days", Hint: "renew the certificate"}
	}
	log := slog.New(slog.DiscardHandler)
	b.Run("unchanged", func(b *testing.B) {
		var l Loop
		l.logNew(log, diags)
		b.ReportAllocs()
		for b.Loop() {
			l.logNew(log, diags)
		}
	})
	b.Run("one-changed", func(b *testing.B) {
		var l Loop
		l.logNew(log, diags)
		next := slices.Clone(diags)
		next[0].Message = "certificate expires in 5 days"
		lists := [2][]diag.Diagnostic{next, diags}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.logNew(log, lists[i%2])
			i++
		}
	})
}
