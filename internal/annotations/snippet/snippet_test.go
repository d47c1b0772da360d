package snippet

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestParseGood(t *testing.T) {
	s := `# comment
more_set_headers "X-A: 1" 'X-B: two words';
add_header X-C 3;
add_header "X-D" "4;5" always;
more_clear_headers X-Powered-By;
proxy_set_header X-Up "yes";
more_set_input_headers "X-In: on";
more_clear_input_headers X-Drop;
`
	h, err := Parse(s, false)
	if err != nil {
		t.Fatal(err)
	}
	eq := func(got []routecfg.Header, want ...routecfg.Header) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if !eq(h.Set, routecfg.Header{Name: "X-A", Value: "1"}, routecfg.Header{Name: "X-B", Value: "two words"}, routecfg.Header{Name: "X-Powered-By"}) {
		t.Errorf("set %+v", h.Set)
	}
	if !eq(h.Add, routecfg.Header{Name: "X-C", Value: "3"}, routecfg.Header{Name: "X-D", Value: "4;5", Always: true}) {
		t.Errorf("add %+v", h.Add)
	}
	if !eq(h.Upstream, routecfg.Header{Name: "X-Up", Value: "yes"}) {
		t.Errorf("upstream %+v", h.Upstream)
	}
	if !eq(h.Input, routecfg.Header{Name: "X-In", Value: "on"}, routecfg.Header{Name: "X-Drop"}) {
		t.Errorf("input %+v", h.Input)
	}
	// server-snippet: response headers only.
	h, err = Parse(`more_set_headers "X-Server: 1"; add_header X-S 2;`, true)
	if err != nil || len(h.Set) != 1 || len(h.Add) != 1 {
		t.Errorf("server: %+v %v", h, err)
	}
	// Empty snippet and comments only: nothing to apply.
	for _, s := range []string{"", "  \n# just a comment\n"} {
		if h, err := Parse(s, false); err != nil || !h.Empty() {
			t.Errorf("%q: %+v %v", s, h, err)
		}
	}
}

// TestParseBad: anything outside the literal subset refuses the whole
// snippet with an error naming the directive or the bad value.
func TestParseBad(t *testing.T) {
	cases := []struct {
		snippet string
		server  bool
		want    string
	}{
		{"deny all;", false, "directive deny"},
		{"more_set_headers \"X-A: 1\";\nrewrite ^ /x break;", false, "directive rewrite"},
		{"if ($host = a) { return 403; }", false, "directive if"},
		{"location /x { }", false, "directive location"},
		{"add_header X-A $host;", false, "directive add_header uses a variable"},
		{"proxy_set_header X-Real-IP $remote_addr;", false, "directive proxy_set_header uses a variable"},
		{"add_header X-A;", false, "add_header takes a name"},
		{"add_header X-A 1 never;", false, "add_header takes a name"},
		{"add_header \"X A\" 1;", false, "not a header name"},
		{"more_set_headers -s 404 \"X-A: 1\";", false, "option -s"},
		{"more_set_headers \"X-A\";", false, "is not \"Name: value\""},
		{"more_set_headers;", false, "needs arguments"},
		{"proxy_set_header X-A;", false, "proxy_set_header takes"},
		{"add_header X-A \"1\nX-Evil: 2\";", false, "control character"},
		{"add_header X-A \"unterminated;", false, "unterminated"},
		{"add_header X-A 1", false, "not terminated"},
		{"proxy_set_header X-Up 1;", true, "proxy_set_header in server-snippet"},
		{"more_set_input_headers \"X-In: 1\";", true, "more_set_input_headers in server-snippet"},
		{"lua_need_request_body on;", false, "directive lua_need_request_body"},
		{"access_by_lua_block { ngx.exit(403) }", false, "directive access_by_lua_block"},
	}
	for _, tc := range cases {
		h, err := Parse(tc.snippet, tc.server)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q (server %v): got %+v, %v; want an error containing %q", tc.snippet, tc.server, h, err, tc.want)
			continue
		}
		if h != nil {
			t.Errorf("%q: refused snippet still returned headers %+v", tc.snippet, h)
		}
	}
}

// TestParseFramingHeaders: header directives that would change how a
// message is framed or routed are refused, naming the directive and the
// header: `more_set_headers "Content-Length: 0"` made moat answer nothing
// while logging 200, and `proxy_set_header Host` was silently dropped.
func TestParseFramingHeaders(t *testing.T) {
	for _, s := range []string{
		`more_set_headers "Content-Length: 0";`,
		`more_set_headers "content-length: 5";`,
		`more_set_headers "Transfer-Encoding: chunked";`,
		`add_header Connection close;`,
		`add_header Upgrade h2c always;`,
		`more_set_headers "Keep-Alive: timeout=5";`,
		`more_set_headers "Trailer: X";`,
		`more_clear_headers Content-Length;`,
		`proxy_set_header Host backend.internal;`,
		`proxy_set_header Content-Length 0;`,
		`proxy_set_header Transfer-Encoding chunked;`,
		`proxy_set_header Connection close;`,
		`proxy_set_header TE trailers;`,
		`more_set_input_headers "Host: other.example";`,
		`more_clear_input_headers Transfer-Encoding;`,
		`more_set_headers "X-Ok: 1" "Content-Length: 0";`,
	} {
		_, err := Parse(s, false)
		if err == nil {
			t.Errorf("%s: accepted, want refused", s)
			continue
		}
		dir := strings.Fields(s)[0]
		name := strings.Trim(strings.Fields(s)[1], `"';:`)
		if s == `more_set_headers "X-Ok: 1" "Content-Length: 0";` {
			name = "Content-Length"
		}
		if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(strings.ToLower(msg), strings.ToLower(name)) {
			t.Errorf("%s: error %q does not name the directive and header %s", s, msg, name)
		}
	}
	if _, err := Parse(`proxy_set_header Host x;`, false); err == nil || !strings.Contains(err.Error(), "upstream-vhost") {
		t.Errorf("proxy_set_header Host: %v, want a pointer to upstream-vhost", err)
	}
	// Server-level: the same refusal for response headers.
	if _, err := Parse(`more_set_headers "Content-Length: 0";`, true); err == nil {
		t.Errorf("server-snippet Content-Length accepted")
	}
	// Ordinary end-to-end headers stay accepted.
	if _, err := Parse(`more_set_headers "Content-Type: text/plain" "Cache-Control: no-store"; proxy_set_header X-Host a;`, false); err != nil {
		t.Errorf("ordinary headers refused: %v", err)
	}
}
