package translate

import (
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/store"
)

// TestSnippetFramingHeadersRefused: with snippets allowed, a snippet that
// sets a framing header or Host is refused with a diagnostic naming the
// Ingress, the directive and the header (#11 item 12).
func TestSnippetFramingHeadersRefused(t *testing.T) {
	for _, c := range []struct{ key, snippet, directive, header string }{
		{"configuration-snippet", `more_set_headers "Content-Length: 0";`, "more_set_headers", "Content-Length"},
		{"configuration-snippet", `proxy_set_header Host backend.internal;`, "proxy_set_header", "Host"},
		{"server-snippet", `add_header Transfer-Encoding chunked;`, "add_header", "Transfer-Encoding"},
	} {
		objs := fuzzObjects(t, map[string]string{annotations.DefaultPrefix + "/" + c.key: c.snippet})
		opts := Options{IngressClass: "moat", WatchWithoutClass: true, ConfigMap: "ns/cm", Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
		_, diags := Translate(store.FromObjects(objs, nil), opts)
		found := false
		for _, d := range diags {
			if d.Reason == "SnippetRefused" && d.Object.Name == "web" && d.Object.Namespace == "ns" &&
				strings.Contains(d.Message, c.directive) && strings.Contains(d.Message, c.header) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %q: no SnippetRefused naming ns/web, %s and %s: %v", c.key, c.snippet, c.directive, c.header, diags)
		}
	}
}
