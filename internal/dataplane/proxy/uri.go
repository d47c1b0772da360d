package proxy

import (
	"net/http"
	"path"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
)

// cleanPath normalises a decoded request path like nginx does before
// location matching: "//" merged, "." and ".." resolved, a trailing slash
// kept. Without this, "/public/../admin" could match a "/public" route
// while the upstream serves /admin. The common clean path is returned
// as is, without allocating.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		return p // "*" (OPTIONS *) or empty: matches nothing but "/" routes
	}
	if !needsClean(p) {
		return p
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c
}

func needsClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		switch {
		case len(rest) == 0:
		case rest[0] == '/':
			return true
		case rest[0] == '.':
			// "/." or "/.." as a whole segment.
			if len(rest) == 1 || rest[1] == '/' {
				return true
			}
			if rest[1] == '.' && (len(rest) == 2 || rest[2] == '/') {
				return true
			}
		}
	}
	return false
}

// redirectHTTPS answers 308 to the HTTPS URL of the request, as
// ingress-nginx's redirect_to_https: the host without port, the request
// URI with one trailing slash dropped ("GET /" → "https://host"), and the
// port only when it is not 443.
//
// ingress-nginx drops a trailing '/' at the end of the whole request URI,
// query included; here it is dropped only from a URI without query, so a
// query ending in '/' ("?next=/") is not corrupted.
func (h *Handler) redirectHTTPS(st *reqState, r *http.Request) {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		// Absolute-form request target (or a handler test without one).
		uri = r.URL.RequestURI()
	}
	if strings.IndexByte(uri, '?') < 0 && strings.HasSuffix(uri, "/") {
		uri = uri[:len(uri)-1]
	}
	host := vars.HostWithoutPort(r.Host)
	n := len("https://") + len(host) + len(uri)
	if h.redirectPort != "" {
		n += 1 + len(h.redirectPort)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("https://")
	b.WriteString(host)
	if h.redirectPort != "" {
		b.WriteByte(':')
		b.WriteString(h.redirectPort)
	}
	b.WriteString(uri)
	h.redirect(st, http.StatusPermanentRedirect, b.String())
}

// applyRewrite implements nginx's `rewrite "(?i)<path>" <target> break;`
// for rt.Rewrite. It reports whether it answered the request (a redirect).
// Otherwise, on a match, it sets the upstream path and query in st.
//
// nginx rules for the query: a target without '?' keeps the original
// arguments; a target with '?' puts the original arguments after its own,
// joined by '&'; a target ending in '?' drops them.
func (h *Handler) applyRewrite(st *reqState, r *http.Request, p string) bool {
	rw := st.rt.Rewrite
	if rw.Pattern == nil {
		return false
	}
	m := rw.Pattern.FindStringSubmatchIndex(p)
	if m == nil {
		return false
	}
	target := rw.Target
	tq := strings.IndexByte(target, '?')
	tpath := target
	if tq >= 0 {
		tpath = target[:tq]
	}
	newPath := expand(nil, tpath, p, m)
	query := r.URL.RawQuery
	if tq >= 0 {
		tquery := target[tq+1:]
		if tquery == "" {
			query = ""
		} else {
			q := expand(nil, tquery, p, m)
			if query != "" {
				q = append(append(q, '&'), query...)
			}
			query = string(q)
		}
	}
	if rw.Redirect {
		loc := newPath
		if query != "" {
			loc = append(append(loc, '?'), query...)
		}
		h.logRewrite(st, r, p, string(loc))
		// nginx answers 302 for a rewrite to an absolute URL.
		h.redirect(st, http.StatusFound, string(loc))
		return true
	}
	st.rewritten = true
	st.path = string(newPath)
	if st.path == "" {
		st.path = "/"
	}
	st.rawQuery = query
	h.logRewrite(st, r, p, st.path)
	return false
}

// expand appends template to dst with $1..$9 replaced by the submatches of
// src given by m; a group that is absent or did not match expands to "".
// Any other '$' is literal (nginx variables are not supported).
func expand(dst []byte, template, src string, m []int) []byte {
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c == '$' && i+1 < len(template) && template[i+1] >= '1' && template[i+1] <= '9' {
			g := int(template[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				dst = append(dst, src[m[2*g]:m[2*g+1]]...)
			}
			i++
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
