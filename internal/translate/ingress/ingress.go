package ingress

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
)

// hostBuilder accumulates one virtual host across Ingresses.
type hostBuilder struct {
	vh *routecfg.VirtualHost
	// creator is the first (oldest) Ingress that named the host.
	creator *networkingv1.Ingress
	// tlsDecided is set once an Ingress with spec.tls gave the host a
	// certificate decision; the oldest one wins.
	tlsDecided bool
	regex      bool
	paths      []*pathEntry
	seen       map[pathKey]*networkingv1.Ingress
	// fallback is the "/" route from the creator's defaultBackend.
	fallback *routecfg.Route
	// wwwRedirect, aliases and aliasFrom are host-level HTTP annotations
	// (from-to-www-redirect, server-alias); see hostannotations.go.
	wwwRedirect bool
	aliases     []string
	aliasFrom   *networkingv1.Ingress
	// clientAuthFrom and passthroughFrom are the Ingresses that set the
	// host's auth-tls-* and ssl-passthrough (tls_hosts.go).
	clientAuthFrom, passthroughFrom *networkingv1.Ingress
	ciphersFrom                     *networkingv1.Ingress
	passthroughWarned               bool
}

type pathKey struct {
	path  string
	exact bool
}

// pathEntry keeps what is needed to finish a route once the host's regex
// mode is known (a later Ingress may switch the whole host to regex).
type pathEntry struct {
	route   *routecfg.Route
	rawPath string
	typ     networkingv1.PathType
	rewrite string
	ing     *networkingv1.Ingress
	field   string
}

func (t *Builder) host(name string, ing *networkingv1.Ingress) *hostBuilder {
	if name == "" {
		if t.catchAll == nil {
			t.catchAll = &hostBuilder{vh: &routecfg.VirtualHost{}, creator: ing, seen: map[pathKey]*networkingv1.Ingress{}}
		}
		return t.catchAll
	}
	hb, ok := t.hosts[name]
	if !ok {
		hb = &hostBuilder{vh: &routecfg.VirtualHost{Host: name}, creator: ing, seen: map[pathKey]*networkingv1.Ingress{}}
		t.hosts[name] = hb
	}
	return hb
}

// validHost checks a rule or TLS host the way the API server does, with a
// pointed message for blog-post placeholders.
func validHost(h string) string {
	h = strings.TrimSuffix(h, ".")
	if strings.Contains(h, "${") || strings.Contains(h, "{{") || strings.HasPrefix(h, "$") {
		return fmt.Sprintf("host %q looks like an unexpanded placeholder; replace it with your domain (for example with envsubst)", h)
	}
	if net.ParseIP(h) != nil {
		return fmt.Sprintf("host %q is an IP address; Ingress hosts must be DNS names", h)
	}
	// Before the port check: "a\r\nX-Evil: 1" contains a ':' but is a
	// header-injection attempt, not a host with a port.
	if i := strings.IndexFunc(h, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return fmt.Sprintf("host %q contains a control character (%q); Ingress hosts must be DNS names", h, h[i])
	}
	if strings.ContainsAny(h, " \t") {
		return fmt.Sprintf("host %q contains a space; Ingress hosts must be DNS names", h)
	}
	if strings.Contains(h, ":") {
		return fmt.Sprintf("host %q has a port; Ingress hosts must be DNS names without a port", h)
	}
	var errs []string
	h = strings.ToLower(h)
	switch {
	case strings.HasPrefix(h, "*."):
		errs = validation.IsWildcardDNS1123Subdomain(h)
	case isDNS1123Subdomain(h):
		// The common case, without the validator's regular expression.
	default:
		errs = validation.IsDNS1123Subdomain(h)
	}
	if len(errs) > 0 {
		return fmt.Sprintf("host %q is not a valid DNS name: %s", h, strings.Join(errs, "; "))
	}
	return ""
}

// isDNS1123Subdomain is validation.IsDNS1123Subdomain's test without its
// regular expression: at most 253 characters, dot-separated labels of
// lower-case letters, digits and '-', each starting and ending with a
// letter or digit. A false here falls back to the validator, which words
// the error.
func isDNS1123Subdomain(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		n := len(label)
		if n == 0 || !alnum(label[0]) || !alnum(label[n-1]) {
			return false
		}
		for i := 1; i < n-1; i++ {
			if c := label[i]; !alnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// Ingress adds one claimed Ingress's hosts, paths and backends (a
// canary is held back until Finish). Ingresses come oldest first.
func (t *Builder) Ingress(ing *networkingv1.Ingress) {
	ann, refused := t.pol.Extract(ing)
	if refused {
		return
	}
	ref := t.Ref(ing)
	if t.deferCanary(ing, ann) {
		return
	}
	tlsHosts := t.tlsEntries(ing)

	var hosts []*hostBuilder
	for i, rule := range ing.Spec.Rules {
		field := "spec.rules[" + strconv.Itoa(i) + "]"
		host := strings.ToLower(strings.TrimSuffix(rule.Host, "."))
		if host != "" {
			if msg := validHost(rule.Host); msg != "" {
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "InvalidHost", Field: field + ".host",
					Message: msg + "; the rule is not served"})
				continue
			}
		}
		if strings.HasPrefix(host, "*.") {
			// The Ingress API and its conformance suite: one label. nginx's
			// server_name *.foo.com, which ingress-nginx writes, matches any
			// depth (but its certificate lookup tries one label only).
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "WildcardHostOneLabel", Field: field + ".host",
				Message: fmt.Sprintf("wildcard host %q matches one label (x%s), as the Ingress API says; ingress-nginx also served deeper names (x.y%s) from it", host, host[1:], host[1:]),
				Hint:    fmt.Sprintf("if deeper names must be served, add a rule for each level, such as *.y%s", host[1:])})
		}
		hb := t.host(host, ing)
		t.hostTLS(hb, ing, ann.TLS, field)
		hosts = append(hosts, hb)
		if ann.Host != nil {
			t.applyHostAnnotations(hb, ing, ann.Host)
		}
		if ann.Rewrite.EnforcesRegex() {
			hb.regex = true
		}
		if host != "" && !hb.tlsDecided && len(ing.Spec.TLS) > 0 {
			t.decideTLS(hb, ing, host, ann)
		}
		if rule.HTTP == nil {
			// A host without paths goes to the Ingress's defaultBackend
			// (ingress-nginx without_host.go); with none, 404.
			if ing.Spec.DefaultBackend != nil && hb.creator == ing && hb.fallback == nil {
				hb.fallback = t.backendRoute(ing, ing.Spec.DefaultBackend, "spec.defaultBackend", ann)
			}
			continue
		}
		for j, p := range rule.HTTP.Paths {
			t.path(hb, ing, p, field+".http.paths["+strconv.Itoa(j)+"]", ann)
		}
	}
	t.tlsHostsNotInRules(ing, tlsHosts)

	if db := ing.Spec.DefaultBackend; db != nil {
		if len(ing.Spec.Rules) == 0 {
			// A rule-less Ingress replaces the catch-all's backend; the
			// oldest wins.
			hb := t.host("", ing)
			if hb.fallback == nil {
				hb.fallback = t.backendRoute(ing, db, "spec.defaultBackend", ann)
			} else {
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "DefaultBackendConflict", Field: "spec.defaultBackend",
					Message: fmt.Sprintf("the catch-all default backend is already set by ingress %s/%s (older); this one is ignored",
						hb.fallback.Source.Namespace, hb.fallback.Source.Ingress)})
			}
		} else {
			// With rules it is the "/" fallback of the hosts this Ingress
			// created, as in ingress-nginx createServers.
			for _, hb := range hosts {
				if hb.creator == ing && hb.fallback == nil {
					hb.fallback = t.backendRoute(ing, db, "spec.defaultBackend", ann)
				}
			}
		}
	}
	if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "IngressEmpty", Field: "spec",
			Message: "the Ingress has neither rules nor a defaultBackend; nothing is served"})
	}
}

var regexMeta = regexp.MustCompile(`[\^$()\[\]{}*+?|\\]`)

func (t *Builder) path(hb *hostBuilder, ing *networkingv1.Ingress, p networkingv1.HTTPIngressPath, field string, ann policy.Set) {
	ref := t.Ref(ing)
	typ := networkingv1.PathTypeImplementationSpecific
	if p.PathType == nil {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "PathTypeMissing", Field: field + ".pathType",
			Message: "pathType is required in networking.k8s.io/v1; treated as ImplementationSpecific",
			Hint:    "set pathType: Prefix (or Exact)"})
	} else {
		typ = *p.PathType
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	switch typ {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
	default:
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "InvalidPathType", Field: field + ".pathType",
			Message: fmt.Sprintf("pathType %q is not Exact, Prefix or ImplementationSpecific; the path is not served", typ)})
		return
	}
	if !strings.HasPrefix(path, "/") {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "InvalidPath", Field: field + ".path",
			Message: fmt.Sprintf("path %q must start with /; the path is not served", path)})
		return
	}
	if typ != networkingv1.PathTypeImplementationSpecific && regexMeta.MatchString(path) {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "PathLooksLikeRegex", Field: field + ".path",
			Message: fmt.Sprintf("path %q has regex characters but pathType %s; it is a regex only when use-regex or rewrite-target applies to the host", path, typ),
			Hint:    "regex paths should use pathType: ImplementationSpecific"})
	}
	key := pathKey{path: path, exact: typ == networkingv1.PathTypeExact}
	if owner, dup := hb.seen[key]; dup {
		where := hb.vh.Host
		if where == "" {
			where = "*"
		}
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "PathConflict", Field: field,
			Message: fmt.Sprintf("host %q path %q (%s) is already defined by ingress %s/%s, which is older and wins", where, path, typ, owner.Namespace, owner.Name)})
		return
	}
	hb.seen[key] = ing
	rt := t.backendRoute(ing, &p.Backend, field+".backend", ann)
	hb.paths = append(hb.paths, &pathEntry{route: rt, rawPath: path, typ: typ, rewrite: ann.Rewrite.Target, ing: ing, field: field})
}

// Finish attaches the canaries, orders each host's routes now that regex
// mode is known, and emits the virtual hosts in host order.
func (t *Builder) Finish() {
	t.finishCanaries()
	names := make([]string, 0, len(t.hosts))
	for n := range t.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hb := t.hosts[n]
		t.finishHost(hb)
		t.finishHostTLS(hb)
		t.allHSTS(hb)
		t.Config.VirtualHosts = append(t.Config.VirtualHosts, hb.vh)
	}
	if t.catchAll != nil {
		t.finishHost(t.catchAll)
		t.allHSTS(t.catchAll)
		t.Config.CatchAll = t.catchAll.vh
	}
	t.finishHosts()
}

// trailingSlashPaths flags Prefix paths ending in "/" (ImplementationSpecific
// is Prefix in ingress-nginx) on a literal host. The Ingress API, and its
// conformance suite, say Prefix /foo/ matches /foo, and so does moat;
// ingress-nginx writes location /foo/ (plus = /foo/), so nginx answers
// /foo with a 301 to /foo/ (its auto-redirect for proxied locations ending
// in a slash) unless some path is exactly /foo.
//
// It also reports two such paths that are the same nginx location
// (Prefix /app and /app/ both write location /app/): nginx refuses the
// whole configuration ("duplicate location"), so ingress-nginx's webhook
// rejects the newer Ingress. moat keeps serving; the older path takes
// both, as its route comes first.
func (t *Builder) trailingSlashPaths(hb *hostBuilder) {
	bare := map[string]bool{}
	for _, pe := range hb.paths {
		bare[pe.rawPath] = true
	}
	location := map[string]*pathEntry{}
	for _, pe := range hb.paths {
		p := pe.rawPath
		if pe.typ == networkingv1.PathTypeExact {
			continue
		}
		if loc := strings.TrimRight(p, "/") + "/"; p != "/" {
			if first, dup := location[loc]; dup && first.rawPath != p {
				owner := fmt.Sprintf("of ingress %s/%s (older)", first.ing.Namespace, first.ing.Name)
				if first.ing == pe.ing {
					owner = "earlier in this Ingress"
				}
				t.Add(diag.Diagnostic{Object: t.Ref(pe.ing), Severity: diag.Warning, Reason: "PathConflict", Field: pe.field,
					Message: fmt.Sprintf("host %q path %q (%s) is the same location as path %q (%s) %s, which serves both; ingress-nginx refuses such a configuration (duplicate location %q)",
						hostName(hb), p, pe.typ, first.rawPath, first.typ, owner, loc)})
			} else if !dup {
				location[loc] = pe
			}
		}
		if len(p) < 2 || p[len(p)-1] != '/' {
			continue
		}
		trimmed := strings.TrimRight(p, "/")
		if trimmed == "" || bare[trimmed] {
			continue
		}
		t.Add(diag.Diagnostic{Object: t.Ref(pe.ing), Severity: diag.Info, Reason: "PrefixTrailingSlash", Field: pe.field + ".path",
			Message: fmt.Sprintf("path %q (%s) also serves %q, as the Ingress API says; ingress-nginx answered %q with a 301 redirect to %q instead", p, pe.typ, trimmed, trimmed, p),
			Hint:    fmt.Sprintf("write path: %s to route the same way on both controllers (%s, %s/ and everything under it)", trimmed, trimmed, trimmed)})
	}
}

// hostName is the host as messages name it ("*" for the catch-all).
func hostName(hb *hostBuilder) string {
	if hb.vh.Host == "" {
		return "*"
	}
	return hb.vh.Host
}

// allHSTS gives every host HSTS, not only those with TLS: ingress-nginx
// sets it on every HTTPS response, including hosts without spec.tls served
// with the default certificate and the catch-all, because its header
// filter tests certificate_configured_for_current_request without calling
// it (lua_ingress.lua _M.header: a function is always true). Browsers
// ignore it over a certificate they do not trust.
func (t *Builder) allHSTS(hb *hostBuilder) {
	if hb.vh.HSTS == "" {
		hb.vh.HSTS = t.Ctrl.HSTSValue()
	}
}

func (t *Builder) finishHost(hb *hostBuilder) {
	if !hb.regex {
		t.trailingSlashPaths(hb)
	}
	for _, pe := range hb.paths {
		rt := pe.route
		rt.Path = pe.rawPath
		switch {
		case hb.regex:
			re, err := regexp.Compile("(?i)^" + pe.rawPath)
			if err != nil {
				t.Add(diag.Diagnostic{Object: t.Ref(pe.ing), Severity: diag.Error, Reason: "InvalidPathRegex", Field: pe.field + ".path",
					Message: fmt.Sprintf("path %q is not a valid regular expression (the host uses regex paths because of use-regex or rewrite-target): %v; the path is not served", pe.rawPath, err)})
				continue
			}
			rt.Match, rt.Regex = routecfg.MatchRegex, re
		case pe.typ == networkingv1.PathTypeExact:
			rt.Match = routecfg.MatchExact
		default:
			rt.Match = routecfg.MatchPrefix
			if len(rt.Path) > 1 {
				rt.Path = strings.TrimRight(rt.Path, "/")
				if rt.Path == "" {
					rt.Path = "/"
				}
			}
		}
		// nginx skips the rewrite when path equals target (buildProxyPass).
		if pe.rewrite != "" && pe.rewrite != pe.rawPath {
			pat, err := regexp.Compile("(?i)" + pe.rawPath)
			if err != nil {
				t.Add(diag.Diagnostic{Object: t.Ref(pe.ing), Severity: diag.Error, Reason: "InvalidPathRegex", Field: pe.field + ".path",
					Message: fmt.Sprintf("path %q cannot be used with rewrite-target: %v; the path is not served", pe.rawPath, err)})
				continue
			}
			rt.Rewrite = &routecfg.Rewrite{Pattern: pat, Target: pe.rewrite,
				Redirect: strings.HasPrefix(pe.rewrite, "http://") || strings.HasPrefix(pe.rewrite, "https://")}
		}
		hb.vh.Routes = append(hb.vh.Routes, rt)
	}
	if hb.regex {
		// nginx takes the first regex that matches, in the order
		// ingress-nginx's getBackendServers gives: descending length,
		// equal lengths by descending path (its two stable sorts), equal
		// paths in Ingress age order.
		sort.SliceStable(hb.vh.Routes, func(i, j int) bool {
			a, b := hb.vh.Routes[i].Path, hb.vh.Routes[j].Path
			if len(a) != len(b) {
				return len(a) > len(b)
			}
			return a > b
		})
	} else {
		sort.SliceStable(hb.vh.Routes, func(i, j int) bool {
			a, b := hb.vh.Routes[i], hb.vh.Routes[j]
			if len(a.Path) != len(b.Path) {
				return len(a.Path) > len(b.Path)
			}
			return a.Match == routecfg.MatchExact && b.Match != routecfg.MatchExact
		})
	}
	if hb.fallback != nil {
		fb := hb.fallback
		fb.Path, fb.Match = "/", routecfg.MatchPrefix
		hb.vh.Routes = append(hb.vh.Routes, fb)
	}
	if len(hb.vh.Routes) == 0 {
		hb.vh.Routes = nil
	}
}
