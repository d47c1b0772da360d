package snippet

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// FuzzParse: any snippet is accepted or refused without panicking; what
// is accepted holds only valid header names, constant values without
// control characters, and no header that frames or routes the message.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`more_set_headers "X-A: 1" 'X-B: two words'; add_header X-C 3 always;`,
		`more_clear_headers X-Powered-By; proxy_set_header X-Up "yes";`,
		`more_set_input_headers "X-In: on"; more_clear_input_headers X-Drop;`,
		`more_set_headers "Content-Length: 0";`, `proxy_set_header Host x;`,
		`location / { return 200; }`, `add_header X $host;`, `"unterminated`, "# c\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, server bool) {
		h, err := Parse(s, server)
		if err != nil {
			return
		}
		for _, list := range [][]string{names(h.Add), names(h.Set), names(h.Upstream), names(h.Input)} {
			for _, n := range list {
				if !nginx.ValidHeaderName(n) || framing("x", n) != nil {
					t.Fatalf("%q: accepted header %q", s, n)
				}
			}
		}
		for _, hs := range [][]string{values(h.Add), values(h.Set), values(h.Upstream), values(h.Input)} {
			for _, v := range hs {
				if strings.Contains(v, "$") || !annotations.ValidHeaderValue(v) {
					t.Fatalf("%q: accepted value %q", s, v)
				}
			}
		}
		if server && (len(h.Upstream) > 0 || len(h.Input) > 0) {
			t.Fatalf("%q: server-snippet with request headers", s)
		}
	})
}

func names(hs []routecfg.Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func values(hs []routecfg.Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Value)
	}
	return out
}
