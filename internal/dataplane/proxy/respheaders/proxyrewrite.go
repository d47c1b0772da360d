package respheaders

import (
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// ProxyRewrite applies proxy_redirect to Location and Refresh
// and proxy_cookie_domain / proxy_cookie_path to Set-Cookie, as nginx does
// for every proxied response.
func ProxyRewrite(p *routecfg.ProxyRewrite, h http.Header) {
	if t := p.Redirect; t != nil {
		if vs := h["Location"]; len(vs) > 0 {
			for i, v := range vs {
				vs[i], _ = rewritePrefix(t, v)
			}
		}
		if vs := h["Refresh"]; len(vs) > 0 {
			for i, v := range vs {
				// nginx rewrites what follows "url=" (case-insensitive).
				if k := strings.Index(strings.ToLower(v), "url="); k >= 0 {
					nv, _ := rewritePrefix(t, v[k+4:])
					vs[i] = v[:k+4] + nv
				}
			}
		}
	}
	if p.CookieDomain == nil && p.CookiePath == nil {
		return
	}
	for i, v := range h["Set-Cookie"] {
		if nv, ok := rewriteCookie(p, v); ok {
			h["Set-Cookie"][i] = nv
		}
	}
}

// rewritePrefix is nginx's string rule (the value starts with From, which
// becomes To) or its regex rule (a matching value becomes To); ok says
// whether it applied.
func rewritePrefix(t *routecfg.TextRewrite, v string) (string, bool) {
	if t.Regex != nil {
		if t.Regex.MatchString(v) {
			return t.To, true
		}
		return v, false
	}
	if rest, ok := strings.CutPrefix(v, t.From); ok {
		return t.To + rest, true
	}
	return v, false
}

// rewriteDomain is proxy_cookie_domain's rule: the whole domain, compared
// without case and without a leading dot, which is kept.
func rewriteDomain(t *routecfg.TextRewrite, v string) (string, bool) {
	if t.Regex != nil {
		if t.Regex.MatchString(v) {
			return t.To, true
		}
		return v, false
	}
	dot := ""
	if strings.HasPrefix(v, ".") {
		dot, v = ".", v[1:]
	}
	if strings.EqualFold(v, t.From) {
		return dot + t.To, true
	}
	return dot + v, false
}

// rewriteCookie parses a Set-Cookie value into attributes as nginx's
// ngx_http_proxy_parse_cookie and, when Domain or Path changed, joins
// them again with "; ". A cookie without "name=" is left alone.
func rewriteCookie(p *routecfg.ProxyRewrite, v string) (string, bool) {
	parts := strings.Split(v, ";")
	if !strings.Contains(parts[0], "=") {
		return v, false
	}
	changed := false
	for i := 1; i < len(parts); i++ {
		key, val, hasVal := strings.Cut(strings.TrimSpace(parts[i]), "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !hasVal {
			continue
		}
		var nv string
		var ok bool
		switch {
		case p.CookieDomain != nil && strings.EqualFold(key, "domain"):
			nv, ok = rewriteDomain(p.CookieDomain, val)
		case p.CookiePath != nil && strings.EqualFold(key, "path"):
			nv, ok = rewritePrefix(p.CookiePath, val)
		}
		if ok {
			parts[i] = key + "=" + nv
			changed = true
		}
	}
	if !changed {
		return v, false
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; "), true
}
