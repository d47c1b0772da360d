package routecfg

import (
	"fmt"
	"strings"
)

// dumpMatch renders a route's Gateway API parts: conditions, weighted
// backends, redirect and header changes.
func dumpMatch(b *strings.Builder, r *Route) {
	if len(r.Backends) > 0 {
		b.WriteString(" split[")
		for i, be := range r.Backends {
			if i > 0 {
				b.WriteByte(' ')
			}
			if be.Pool != "" {
				fmt.Fprintf(b, "%s*%d", be.Pool, be.Weight)
			} else {
				fmt.Fprintf(b, "status-%d*%d", be.Status, be.Weight)
			}
		}
		b.WriteByte(']')
	}
	for _, m := range r.Mirrors {
		if m.All() {
			fmt.Fprintf(b, " mirror{%s}", m.Pool)
		} else {
			fmt.Fprintf(b, " mirror{%s %d/%d}", m.Pool, m.Numerator, m.Denominator)
		}
	}
	if c := r.Conditions; c != nil {
		var parts []string
		switch c.Scheme {
		case SchemeHTTP:
			parts = append(parts, "scheme=http")
		case SchemeHTTPS:
			parts = append(parts, "scheme=https")
		}
		if c.Method != "" {
			parts = append(parts, "method="+c.Method)
		}
		for _, h := range c.Headers {
			parts = append(parts, "header:"+valueMatch(h))
		}
		for _, q := range c.Query {
			parts = append(parts, "query:"+valueMatch(q))
		}
		fmt.Fprintf(b, " when{%s}", strings.Join(parts, " "))
	}
	if rd := r.URLRedirect; rd != nil {
		fmt.Fprintf(b, " redirect{%d scheme=%s host=%s port=%d", rd.Code, rd.Scheme, rd.Host, rd.Port)
		if rd.Path != nil {
			fmt.Fprintf(b, " %s", pathMod(rd.Path))
		}
		b.WriteByte('}')
	}
	if r.PathRewrite != nil {
		fmt.Fprintf(b, " rewrite{%s}", pathMod(r.PathRewrite))
	}
	// Header changes only for Gateway API routes (they always carry
	// Backends or a redirect): Ingress goldens do not show them.
	gw := len(r.Backends) > 0 || r.URLRedirect != nil
	if gw && r.Policy != nil && r.Policy.Headers != nil {
		h := r.Policy.Headers
		for _, x := range h.Upstream {
			fmt.Fprintf(b, " req-set{%s=%s}", x.Name, x.Value)
		}
		for _, x := range h.UpstreamAdd {
			fmt.Fprintf(b, " req-add{%s=%s}", x.Name, x.Value)
		}
		if h.UpstreamHost != "" {
			fmt.Fprintf(b, " req-host{%s}", h.UpstreamHost)
		}
		for _, x := range h.Set {
			fmt.Fprintf(b, " resp-set{%s=%s}", x.Name, x.Value)
		}
		for _, x := range h.Add {
			fmt.Fprintf(b, " resp-add{%s=%s}", x.Name, x.Value)
		}
	}
}

func valueMatch(v ValueMatch) string {
	if v.Regex != nil {
		return v.Name + "~" + v.Regex.String()
	}
	return v.Name + "=" + v.Value
}

func pathMod(p *PathModifier) string {
	if p.Prefix {
		return "prefix:" + p.Match + "=>" + p.Value
	}
	return "full=>" + p.Value
}
