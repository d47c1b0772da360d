package policy

import (
	"fmt"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/affinity"
	"github.com/moat-ingress/moat/internal/annotations/balance"
	"github.com/moat-ingress/moat/internal/annotations/buffering"
	"github.com/moat-ingress/moat/internal/annotations/canary"
	"github.com/moat-ingress/moat/internal/annotations/ipaccess"
	"github.com/moat-ingress/moat/internal/annotations/ratelimit"
	"github.com/moat-ingress/moat/internal/annotations/redirect"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/annotations/rewrite"
	"github.com/moat-ingress/moat/internal/annotations/sslredirect"
	"github.com/moat-ingress/moat/internal/annotations/timeouts"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/feature/all"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/core"
	networkingv1 "k8s.io/api/networking/v1"
)

// Set is every annotation of one Ingress, read once into typed
// values (ingress-nginx's Extractor.Extract, without interface{} or
// mergo). The passes that build hosts, paths, backends, TLS and canaries
// read it; none of them parses annotations.
type Set struct {
	Rewrite rewrite.Config
	SSL     sslredirect.Config
	// Policy is shared by every route of the Ingress; nil when no family
	// is set.
	Policy *routecfg.RoutePolicy
	// TLS holds the TLS families (tls.go).
	TLS *TLS
	// FastCGI is set when backend-protocol is FCGI (fastcgi.go).
	FastCGI *routecfg.FastCGI
	// Host is the server-level annotations (hostannotations.go); nil when
	// none is set.
	Host *HostAnn
	// Canary is set on a canary Ingress.
	Canary *routecfg.Canary
}

// Extract gates an Ingress's annotations and reads every family once:
// Gate and the word blocklist, then each family's Parse, CheckNeeds and
// CheckUnknown. refused reports an Ingress that is not served at all.
func (t *Extractor) Extract(ing *networkingv1.Ingress) (s Set, refused bool) {
	if t.refusedIngress(ing) {
		return s, true
	}
	ref := t.Ref(ing)
	ann := ing.Annotations
	if !t.Ctrl.AllowSnippetAnnotations {
		// As ingress-nginx's dropSnippetDirectives: the snippets are
		// ignored, the rest of the Ingress applies (Gate warned).
		ann = annotations.WithoutSnippets(t.Opts.AnnotationPrefix, ann)
	}
	r := annotations.NewReader(t.Opts.AnnotationPrefix, ann, ref)
	s.Rewrite, s.SSL = rewrite.Parse(r), sslredirect.ParseDefaults(r, t.Ctrl.SSLRedirect, t.Ctrl.ForceSSLRedirect)
	r.Diags = append(r.Diags, annotations.CheckNeeds(r.Prefix, r.Annotations, r.Object, registry.Known())...)
	s.Canary = canary.Parse(r)
	rd := redirect.Parse(r)
	s.Policy = t.routePolicy(r, ing, rd)
	s.Host = t.hostAnnotations(r, ing, rd)
	s.TLS = t.tlsAnnotations(r, ing)
	if s.TLS.protocol == routecfg.ProtocolFCGI {
		s.FastCGI = t.fastCGI(r, ing)
	}
	t.Diags = append(t.Diags, r.Diags...)
	t.Diags = append(t.Diags, annotations.CheckUnknown(t.Opts.AnnotationPrefix, ann, ref, registry.Known())...)
	return s, false
}

// routePolicy builds every route family of one Ingress into the policy
// its routes share. It is nil only when no family is set: the test is on
// the whole value, so a new family cannot be dropped by being left out
// of a list here.
func (t *Extractor) routePolicy(r *annotations.Reader, ing *networkingv1.Ingress, rd redirect.Config) *routecfg.RoutePolicy {
	p := &routecfg.RoutePolicy{}
	denied := ""
	deny := func(reason string) {
		if denied == "" {
			denied = reason
		}
	}
	def := t.TrafficDefaults()

	if rd.Redirect != nil {
		rd.Redirect.Location = rd.URL
		p.Redirect = rd.Redirect
	}
	p.Access = ipaccess.ParseDefaults(r, t.Ctrl.WhitelistSourceRange, t.Ctrl.DenylistSourceRange)
	if p.Access != nil && p.Access.Denied != "" {
		deny(p.Access.Denied)
	}
	if why := t.proxySSLSecretDenied(r, ing); why != "" {
		deny(why)
	}
	// The feature folders, in request order (feature/all); before
	// external auth, so a denial's reason is the first in that order.
	env := featureEnv{t: t, ing: ing, deny: deny}
	for _, f := range all.List() {
		if f.Build != nil {
			f.Build(env, r, p)
		}
	}
	p.ExternalAuth = t.externalAuth(r, ing, deny)
	p.ErrorPages = t.errorPages(r, ing)
	p.Tracing = t.tracingAnnotations(r)
	p.WAF = t.wafPolicy(r, ing, deny)

	p.Affinity = affinity.Parse(r)
	p.Balance = balance.Parse(r)
	if _, set := r.Raw("load-balance"); p.Balance != nil && !set {
		p.Balance.Algorithm = def.Balance
	}
	p.Limits = ratelimit.ParseDefaults(r, t.Ctrl.LimitRate, t.Ctrl.LimitRateAfter)
	p.Body = buffering.Parse(r, def.Body)
	p.Timeouts = timeouts.Parse(r, def.Timeouts)
	if p.Timeouts != nil && t.Ctrl.RetryNonIdempotent && p.Timeouts.Next != 0 {
		// ingress-nginx's buildNextUpstream appends non_idempotent to
		// every location's list.
		p.Timeouts.Next |= routecfg.NextNonIdempotent
	}
	if p.Affinity != nil && p.Balance != nil && p.Balance.HashBy != nil {
		t.Add(diag.Diagnostic{Object: r.Object, Severity: diag.Warning, Reason: "HashByWithAffinity", Field: "metadata.annotations." + r.FullKey("upstream-hash-by"),
			Message: "upstream-hash-by has no effect with affinity: cookie (ingress-nginx's precedence)"})
	}

	if denied != "" {
		if p.Access == nil {
			p.Access = &routecfg.Access{}
		}
		p.Access.Denied = denied
	}
	if *p == (routecfg.RoutePolicy{}) {
		return nil
	}
	return p
}

// featureEnv is what a feature folder's Build sees of translate
// (feature.Env).
type featureEnv struct {
	t    *Extractor
	ing  *networkingv1.Ingress
	deny func(string)
}

func (e featureEnv) Setting(key string) string { return e.t.Ctrl.Settings[key] }

func (e featureEnv) Deny(reason string) { e.deny(reason) }

func (e featureEnv) Ref(r *annotations.Reader, key, ref, kind string) (string, bool) {
	return e.t.SameNamespace(r, e.ing, key, ref, kind)
}

func (e featureEnv) Secret(ref string) (map[string][]byte, bool) {
	if s := e.t.Snapshot.Secrets[ref]; s != nil {
		return s.Data, true
	}
	return nil, false
}

func (e featureEnv) ConfigMap(ref string) (map[string]string, bool) {
	if c := e.t.Snapshot.ConfigMaps[ref]; c != nil {
		return c.Data, true
	}
	return nil, false
}

// refusedIngress applies annotation-value-word-blocklist and
// annotations-risk-level: an Ingress that breaks them is not served. A
// snippet while allow-snippet-annotations is false only gets a warning;
// Extract drops it.
func (t *Extractor) refusedIngress(ing *networkingv1.Ingress) bool {
	if t.blockedWord(ing) {
		return true
	}
	ds, refused := annotations.Gate(t.Opts.AnnotationPrefix, ing.Annotations, t.Ref(ing), registry.Known(), t.Ctrl.AnnotationsRiskLevel, t.Ctrl.AllowSnippetAnnotations)
	t.Diags = append(t.Diags, ds...)
	return refused
}

// blockedWord applies annotation-value-word-blocklist: an Ingress with an
// annotation (of the prefix) whose value contains a listed word is not
// served, as ingress-nginx skips it. Words are matched case-sensitively,
// as there.
func (t *Extractor) blockedWord(ing *networkingv1.Ingress) bool {
	words := t.Ctrl.AnnotationValueWordBlocklist
	if len(words) == 0 {
		return false
	}
	prefix := t.Opts.AnnotationPrefix
	if prefix == "" {
		prefix = annotations.DefaultPrefix
	}
	for _, k := range core.SortedKeys(ing.Annotations) {
		if !strings.HasPrefix(k, prefix+"/") {
			continue
		}
		for _, w := range words {
			if strings.Contains(ing.Annotations[k], w) {
				t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Error, Reason: "AnnotationValueBlocked", Field: "metadata.annotations." + k,
					Message: fmt.Sprintf("annotation %s contains %q, a word of the controller ConfigMap's annotation-value-word-blocklist; the Ingress is not served", k, w)})
				return true
			}
		}
	}
	return false
}
