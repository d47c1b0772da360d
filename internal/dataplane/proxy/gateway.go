package proxy

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// pickBackend is a weighted choice among a route's backends (Gateway API
// backendRefs), nil for none. All weights zero: 500, as for a rule
// without backends.
func pickBackend(bs []routecfg.Backend) (pool string, status int, be *routecfg.Backend) {
	if len(bs) == 1 {
		if bs[0].Weight == 0 {
			return "", http.StatusInternalServerError, nil
		}
		return bs[0].Pool, bs[0].Status, &bs[0]
	}
	total := 0
	for _, b := range bs {
		total += b.Weight
	}
	if total <= 0 {
		return "", http.StatusInternalServerError, nil
	}
	n := rand.IntN(total)
	for i := range bs {
		if n < bs[i].Weight {
			return bs[i].Pool, bs[i].Status, &bs[i]
		}
		n -= bs[i].Weight
	}
	return "", http.StatusInternalServerError, nil // unreachable
}

// backendHeaders applies the picked backendRef's RequestHeaderModifier.
func backendHeaders(hdr http.Header, hh *routecfg.Headers) {
	for _, x := range hh.Upstream {
		if x.Value == "" {
			hdr.Del(x.Name)
		} else {
			hdr.Set(x.Name, x.Value)
		}
	}
	for _, x := range hh.UpstreamAdd {
		hdr.Add(x.Name, x.Value)
	}
}

// urlRedirect answers with Gateway API's RequestRedirect: the request URL
// with the filter's parts replaced; the query is kept.
func (h *Handler) urlRedirect(st *reqState, r *http.Request, path string, rd *routecfg.URLRedirect) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	port := listenerPort(r)
	if rd.Scheme != "" {
		scheme = rd.Scheme
		port = ""
	}
	if rd.Port != 0 {
		port = strconv.Itoa(rd.Port)
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	host := rd.Host
	if host == "" {
		host = hostOnly(r.Host)
	}
	p := path
	if m := rd.Path; m != nil {
		p = modifyPath(m, path)
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.IndexByte(host, ':') >= 0 { // an IPv6 literal
		b.WriteByte('[')
		b.WriteString(host)
		b.WriteByte(']')
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(p)
	if r.URL.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(r.URL.RawQuery)
	}
	h.redirect(st, rd.Code, b.String())
}

// hostOnly strips the port from a Host header, and the brackets of an
// IPv6 literal.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// modifyPath applies a ReplaceFullPath or ReplacePrefixMatch to path. The
// prefix is matched element-wise, so what follows it is "" or starts with
// '/'; a replacement ending in '/' does not double it.
func modifyPath(m *routecfg.PathModifier, path string) string {
	if !m.Prefix {
		return m.Value
	}
	rest := path
	if m.Match != "/" {
		rest = strings.TrimPrefix(path, m.Match)
	}
	v := strings.TrimRight(m.Value, "/")
	switch {
	case rest == "" && v == "":
		return "/"
	case rest == "":
		return v
	case rest[0] != '/':
		return v + "/" + rest
	}
	return v + rest
}
