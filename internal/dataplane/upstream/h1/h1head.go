package h1

import (
	"bufio"
	"errors"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// writeHead writes the head of a request without a body as
// http.Request.Write does (the same Host cleaning, User-Agent default,
// Content-Length and Connection rules, values trimmed), without its
// allocations: no fmt, no sorted copy of the header, no joined request
// URI. Header order is not sorted; it carries no meaning (RFC 9110
// §5.3). validateRequest has already refused names and values that are
// not valid, so no value can end a line early.
func writeHead(w *bufio.Writer, r *http.Request) error {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host, err := httpguts.PunycodeHostPort(host)
	if err != nil {
		return err
	}
	if !httpguts.ValidHostHeader(host) {
		// As Request.Write to a non-proxy: an invalid Host is sent empty
		// rather than altered (go.dev/issue/61431).
		host = ""
	}
	host = removeZone(host)

	u := r.URL
	path, query := "", ""
	if u.Opaque != "" {
		path = u.RequestURI()
	} else {
		if path = u.EscapedPath(); path == "" {
			path = "/"
		}
		if u.ForceQuery || u.RawQuery != "" {
			query = u.RawQuery
		}
	}
	if hasCTL(path) || hasCTL(query) {
		return errors.New("net/http: can't write control character in Request.URL")
	}

	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	if u.Opaque == "" && (u.ForceQuery || u.RawQuery != "") {
		w.WriteByte('?')
		w.WriteString(query)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")

	ua := "Go-http-client/1.1"
	if v, ok := r.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		w.WriteString("User-Agent: ")
		w.WriteString(textproto.TrimString(ua))
		w.WriteString("\r\n")
	}
	if r.Close && !httpguts.HeaderValuesContainsToken(r.Header["Connection"], "close") {
		w.WriteString("Connection: close\r\n")
	}
	// transferWriter.shouldSendContentLength for an empty body: "many
	// servers expect a Content-Length" for these methods.
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		w.WriteString("Content-Length: 0\r\n")
	}
	for k, vv := range r.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // written above, or not for a request without a body
		}
		for _, v := range vv {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(textproto.TrimString(v))
			w.WriteString("\r\n")
		}
	}
	_, err = w.WriteString("\r\n")
	return err
}

// removeZone drops an IPv6 zone from a host (RFC 6874: an intermediary
// must not send it), as Request.Write does.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
