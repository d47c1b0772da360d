// Package snippet parses configuration-snippet and server-snippet. moat
// never passes nginx configuration on: it parses a strictly literal subset
// of header directives into data, and refuses the whole snippet when any
// directive is outside it, so that a snippet's access-control lines can
// never be dropped while the rest is applied.
package snippet

import (
	"fmt"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "configuration-snippet", Status: annotations.Partial,
		Doc: "Only with allow-snippet-annotations and annotations-risk-level Critical, and only constant header directives: add_header, more_set_headers, more_clear_headers, proxy_set_header, more_set_input_headers, more_clear_input_headers. Any other directive, option or $variable, or a header that frames or routes the message (Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer, Host: use upstream-vhost), refuses the whole snippet with a diagnostic naming it."},
	{Name: "server-snippet", Status: annotations.Partial,
		Doc: "As configuration-snippet, for every response of the host (the oldest Ingress wins); only the response header directives apply, and they reach every response of the host."},
}

// Parse parses a snippet. It returns nil and an error naming the first
// directive outside the subset.
func Parse(s string, server bool) (*routecfg.Headers, error) {
	dirs, err := split(s)
	if err != nil {
		return nil, err
	}
	h := &routecfg.Headers{}
	for _, d := range dirs {
		name, args := d[0], d[1:]
		for _, a := range args {
			if strings.Contains(a, "$") {
				return nil, fmt.Errorf("directive %s uses a variable (%q); only constant values are accepted", name, a)
			}
			if !annotations.ValidHeaderValue(a) {
				return nil, fmt.Errorf("directive %s has a control character in %q", name, a)
			}
		}
		switch name {
		case "add_header":
			always := len(args) == 3 && args[2] == "always"
			if len(args) != 2 && !always {
				return nil, fmt.Errorf("add_header takes a name, a value and an optional always")
			}
			if !nginx.ValidHeaderName(args[0]) {
				return nil, fmt.Errorf("add_header: %q is not a header name", args[0])
			}
			if err := framing(name, args[0]); err != nil {
				return nil, err
			}
			h.Add = append(h.Add, routecfg.Header{Name: args[0], Value: args[1], Always: always})
		case "proxy_set_header", "more_set_headers", "more_set_input_headers", "more_clear_headers", "more_clear_input_headers":
			if server && (name == "proxy_set_header" || strings.Contains(name, "input")) {
				return nil, fmt.Errorf("directive %s in server-snippet: only response header directives are accepted at server level", name)
			}
			hs, err := headerArgs(name, args)
			if err != nil {
				return nil, err
			}
			for _, x := range hs {
				if err := framing(name, x.Name); err != nil {
					return nil, err
				}
			}
			switch name {
			case "proxy_set_header":
				h.Upstream = append(h.Upstream, hs...)
			case "more_set_headers", "more_clear_headers":
				h.Set = append(h.Set, hs...)
			default:
				h.Input = append(h.Input, hs...)
			}
		default:
			return nil, fmt.Errorf("directive %s is not supported; moat accepts only add_header, more_set_headers, more_clear_headers, proxy_set_header, more_set_input_headers and more_clear_input_headers with constant values", name)
		}
	}
	return h, nil
}

// framing refuses a header that decides how a message is framed or where
// it goes rather than what it says: moat frames and routes messages
// itself, so setting one of these would either be dropped silently or
// break the exchange (a response "Content-Length: 0" over a body made the
// client read nothing while the access log said 200).
func framing(directive, header string) error {
	switch strings.ToLower(header) {
	case "host":
		// nginx appends a second proxy_set_header Host after ingress-nginx's
		// own, so the upstream gets two Host headers; the annotation says
		// what was meant.
		return fmt.Errorf("directive %s sets Host, which moat does not take from snippets; use the upstream-vhost annotation to choose the Host the backend sees", directive)
	case "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection":
		return fmt.Errorf("directive %s sets %s, which frames the message (moat sets it itself); it is refused", directive, header)
	}
	return nil
}

func headerArgs(name string, args []string) ([]routecfg.Header, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s needs arguments", name)
	}
	var out []routecfg.Header
	if name == "proxy_set_header" {
		if len(args) != 2 || !nginx.ValidHeaderName(args[0]) {
			return nil, fmt.Errorf("proxy_set_header takes a header name and a value")
		}
		return []routecfg.Header{{Name: args[0], Value: args[1]}}, nil
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return nil, fmt.Errorf("%s option %s is not supported", name, a)
		}
		n, v, ok := strings.Cut(a, ":")
		if strings.HasPrefix(name, "more_clear") {
			n, v, ok = a, "", true
		}
		n, v = strings.TrimSpace(n), strings.TrimSpace(v)
		if !ok || !nginx.ValidHeaderName(n) {
			return nil, fmt.Errorf("%s: %q is not \"Name: value\"", name, a)
		}
		out = append(out, routecfg.Header{Name: n, Value: v})
	}
	return out, nil
}

// split tokenises nginx syntax into directives: words and quoted strings
// ending with ';'. Blocks ('{') are refused.
func split(s string) ([][]string, error) {
	var out [][]string
	var cur []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == ';':
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			i++
		case c == '{' || c == '}':
			name := "block"
			if len(cur) > 0 {
				name = cur[0]
			}
			return nil, fmt.Errorf("directive %s opens a block; blocks are not supported", name)
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			cur = append(cur, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n;{}\"'#", rune(s[j])) {
				j++
			}
			cur = append(cur, s[i:j])
			i = j
		}
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("directive %s is not terminated by ;", cur[0])
	}
	return out, nil
}
