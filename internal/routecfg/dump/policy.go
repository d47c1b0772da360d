package dump

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// dumpPolicyLines appends one indented line per family of a route's
// policy that has no place on the route line itself (redirect, CORS,
// access, auth, headers, logging, proxy rewrites). The families dumped
// on the route line (dumpTraffic, dumpErrorPages, dumpTracing, dumpWAF)
// stay there, so golden files only gain lines. Header changes of
// Gateway API routes are on the route line already (dumpMatch).
func dumpPolicyLines(b *strings.Builder, r *routecfg.Route) {
	p := r.Policy
	if p == nil {
		return
	}
	line := func(name string, parts ...string) {
		b.WriteString("    " + name)
		for _, s := range parts {
			if s != "" {
				b.WriteString(" " + s)
			}
		}
		b.WriteByte('\n')
	}
	if r := p.Redirect; r != nil {
		line("redirect", opt(r.URL != "" || !r.Location.IsZero(), fmt.Sprintf("%d %s", r.Code, cmpTemplate(r.Location, r.URL))),
			flag(r.Relative, "relative"), flag(r.UsePort, "use-port"), flag(r.PreserveTrailingSlash, "preserve-trailing-slash"))
	}
	if c := p.CORS; c != nil {
		origins := "*"
		if !c.AnyOrigin {
			s := make([]string, len(c.Origins))
			for i, re := range c.Origins {
				s[i] = re.String()
			}
			origins = strings.Join(s, ",")
		}
		line("cors", "origins="+origins, fmt.Sprintf("methods=%q headers=%q expose=%q max-age=%s credentials=%t", c.AllowMethods, c.AllowHeaders, c.ExposeHeaders, c.MaxAge, c.AllowCredentials),
			opt(c.PreflightStatus != 0, fmt.Sprintf("preflight=%d", c.PreflightStatus)), flag(c.EchoMethods, "echo-methods"), flag(c.EchoHeaders, "echo-headers"))
	}
	if a := p.Access; a != nil {
		line("access", opt(len(a.Deny) > 0, "deny="+prefixes(a.Deny)), opt(len(a.Allow) > 0, "allow="+prefixes(a.Allow)),
			flag(a.SatisfyAny, "satisfy-any"), opt(a.Denied != "", fmt.Sprintf("denied=%q", a.Denied)))
	}
	if a := p.BasicAuth; a != nil {
		users := make([]string, 0, len(a.Users))
		for u := range a.Users {
			users = append(users, u)
		}
		slices.Sort(users)
		line("basic-auth", fmt.Sprintf("realm=%q users=[%s]", a.Realm, strings.Join(users, " ")))
	}
	if a := p.ExternalAuth; a != nil {
		var cache []string
		for _, h := range a.CacheKey {
			cache = append(cache, h.String())
		}
		var set []string
		for _, h := range a.SetHeaders {
			set = append(set, h.Name+"="+h.Value.String())
		}
		line("external-auth", "url="+a.URL.String(), opt(a.Method != "", "method="+a.Method), opt(!a.Signin.IsZero(), "signin="+a.Signin.String()),
			opt(len(a.ResponseHeaders) > 0, "response-headers="+strings.Join(a.ResponseHeaders, ",")),
			opt(!a.RequestRedirect.IsZero(), "request-redirect="+a.RequestRedirect.String()),
			opt(len(set) > 0, "set["+strings.Join(set, " ")+"]"),
			opt(len(cache) > 0, fmt.Sprintf("cache-key=%s cache-rules=%d", strings.Join(cache, ""), len(a.CacheRules))),
			flag(a.AlwaysSetCookie, "always-set-cookie"),
			keepalive(a.Keepalive))
	}
	if h := p.Headers; h != nil && len(r.Backends) == 0 && r.URLRedirect == nil {
		line("headers", dumpHeaderChanges(h))
	}
	if l := p.Logging; l != nil {
		line("logging", fmt.Sprintf("access-log=%t rewrite-log=%t", !l.NoAccessLog, l.RewriteLog))
	}
	if pr := p.ProxyRewrite; pr != nil {
		line("proxy-rewrite", textRewrite("redirect", pr.Redirect), textRewrite("cookie-domain", pr.CookieDomain), textRewrite("cookie-path", pr.CookiePath))
	}
}

// dumpHostPolicy appends the host-level annotations (app-root,
// server-snippet headers, the from-to-www-redirect host) as one line.
func dumpHostPolicy(b *strings.Builder, p *routecfg.HostPolicy) {
	if p == nil {
		return
	}
	b.WriteString("  host-policy")
	if p.RedirectHost != "" {
		fmt.Fprintf(b, " redirect-host=%s:%d", p.RedirectHost, p.RedirectCode)
	}
	if p.AppRoot != "" {
		b.WriteString(" app-root=" + p.AppRoot)
	}
	if p.Headers != nil {
		b.WriteString(" headers " + dumpHeaderChanges(p.Headers))
	}
	b.WriteByte('\n')
}

func dumpHeaderChanges(h *routecfg.Headers) string {
	var parts []string
	list := func(name string, hs []routecfg.Header) {
		if len(hs) == 0 {
			return
		}
		s := make([]string, len(hs))
		for i, x := range hs {
			s[i] = fmt.Sprintf("%s=%q", x.Name, x.Value)
			if x.Always {
				s[i] += ":always"
			}
		}
		parts = append(parts, name+"["+strings.Join(s, " ")+"]")
	}
	list("input", h.Input)
	list("upstream", h.Upstream)
	list("upstream-add", h.UpstreamAdd)
	list("set", h.Set)
	list("add", h.Add)
	if h.UpstreamHost != "" {
		parts = append(parts, "upstream-host="+h.UpstreamHost)
	}
	if h.Connection != "" {
		parts = append(parts, fmt.Sprintf("connection=%q", h.Connection))
	}
	if h.HTTP10 {
		parts = append(parts, "http1.0")
	}
	if h.XForwardedPrefix != "" {
		parts = append(parts, "x-forwarded-prefix="+h.XForwardedPrefix)
	}
	return strings.Join(parts, " ")
}

func opt(ok bool, s string) string {
	if !ok {
		return ""
	}
	return s
}

func flag(ok bool, name string) string { return opt(ok, name) }

func cmpTemplate(t vartemplate.Template, s string) string {
	if !t.IsZero() {
		return t.String()
	}
	return s
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func keepalive(k *routecfg.AuthKeepalive) string {
	if k == nil {
		return ""
	}
	return fmt.Sprintf("keepalive=%d/%d/%s share-vars=%t", k.Conns, k.Requests, k.Timeout, k.ShareVars)
}

func textRewrite(name string, r *routecfg.TextRewrite) string {
	if r == nil {
		return ""
	}
	if r.Regex != nil {
		return fmt.Sprintf("%s=~%s->%s", name, r.Regex, r.To)
	}
	return fmt.Sprintf("%s=%s->%s", name, r.From, r.To)
}

// dumpTracing renders the route's annotations for Dump.
func dumpTracing(b *strings.Builder, p *routecfg.RoutePolicy) {
	if p == nil || p.Tracing == nil {
		return
	}
	a := p.Tracing
	fmt.Fprintf(b, " opentelemetry=%t", a.Enabled)
	if a.TrustSet {
		fmt.Fprintf(b, " trust-incoming-span=%t", a.Trust)
	}
	if a.OperationName != "" {
		fmt.Fprintf(b, " operation-name=%s", a.OperationName)
	}
}

// dumpTracingConfig renders the exporter settings for Dump.
func dumpTracingConfig(b *strings.Builder, t *routecfg.Tracing) {
	if t == nil {
		return
	}
	e := t.Exporter
	fmt.Fprintf(b, "opentelemetry enabled=%t trust-incoming-span=%t collector=%q service=%q sampler=%s ratio=%g parent-based=%t queue=%d batch=%d delay=%s\n",
		t.Enabled, t.TrustIncomingSpan, e.Endpoint, e.ServiceName, e.Sampler, e.Ratio, e.ParentBased, e.MaxQueueSize, e.MaxExportBatchSize, e.ScheduleDelay)
}

// dumpWAF appends the route's WAF to its Dump line: the engine mode and
// the rule set's key.
func dumpWAF(b *strings.Builder, p *routecfg.RoutePolicy) {
	if p == nil || p.WAF == nil || p.WAF.Engine == nil {
		return
	}
	fmt.Fprintf(b, " waf=%s:%s", p.WAF.Engine.Mode, p.WAF.Engine.Key)
	if !p.WAF.TransactionID.IsZero() {
		fmt.Fprintf(b, " waf-id=%s", p.WAF.TransactionID)
	}
}
