package tracing

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

var w3cRe = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

// FuzzPropagation: whatever traceparent and tracestate a client sends,
// the backend gets one well-formed traceparent, of the client's trace only
// when that was valid and trusted, and the span is moat's (never the
// client's span id).
func FuzzPropagation(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a=b,c=d", true)
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", true)
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "x", true)
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra", "=,,=", true)
	f.Add("00-00000000000000000000000000000000-0000000000000000-01", "a=b", false)
	f.Add("", "", true)
	m := NewManager(Options{})
	f.Cleanup(func() { _ = m.Close(context.Background()) })
	tr := m.Apply(&routecfg.Tracing{Exporter: routecfg.TracingExporter{ParentBased: true, MaxQueueSize: 1, MaxExportBatchSize: 1, ScheduleDelay: time.Hour}})
	f.Fuzz(func(t *testing.T, traceparent, tracestate string, trust bool) {
		in := http.Header{"Traceparent": {traceparent}, "Tracestate": {tracestate}}
		s := tr.Start(&http.Request{Header: in}, trust, "/")
		out := in.Clone()
		Inject(s, out)
		End(s, "", &Request{})
		got := out.Get("Traceparent")
		if len(out["Traceparent"]) != 1 || !w3cRe.MatchString(got) {
			t.Fatalf("outgoing traceparent %q for %q", out["Traceparent"], traceparent)
		}
		if len(out["Tracestate"]) > 1 {
			t.Fatalf("tracestate %q", out["Tracestate"])
		}
		if w3cRe.MatchString(traceparent) && traceparent[3:35] != "00000000000000000000000000000000" && traceparent[36:52] != "0000000000000000" {
			same := got[3:35] == traceparent[3:35]
			if same != trust {
				t.Fatalf("trust %t: incoming %q, outgoing %q", trust, traceparent, got)
			}
			if got[36:52] == traceparent[36:52] {
				t.Fatalf("outgoing parent is the client's span: %q", got)
			}
		}
	})
}
