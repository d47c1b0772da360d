package ingress

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
	networkingv1 "k8s.io/api/networking/v1"
)

// pendingCanary is a canary Ingress held back until every main route
// exists (a canary may be older than its main Ingress).
type pendingCanary struct {
	ing *networkingv1.Ingress
	ann policy.Set
}

// deferCanary holds back a canary Ingress: ingress-nginx creates no
// server or location for it ("is marked as Canary, ignoring") and merges
// its backends into the main routes once all Ingresses are read.
func (t *Builder) deferCanary(ing *networkingv1.Ingress, ann policy.Set) bool {
	if ann.Canary == nil {
		return false
	}
	t.pendingCanaries = append(t.pendingCanaries, pendingCanary{ing: ing, ann: ann})
	t.canaryIgnoredAnnotations(ing)
	return true
}

// canaryKeys are what a canary Ingress keeps of its own annotations; the
// rest come from the main Ingress (annotations.md#canary).
func canaryKeeps(name string) bool {
	for _, p := range []string{"canary", "affinity", "session-cookie-", "load-balance", "upstream-hash-by", "service-upstream"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (t *Builder) canaryIgnoredAnnotations(ing *networkingv1.Ingress) {
	prefix := t.Opts.AnnotationPrefix
	if prefix == "" {
		prefix = annotations.DefaultPrefix
	}
	var ignored []string
	for k := range ing.Annotations {
		if name, ok := strings.CutPrefix(k, prefix+"/"); ok && !canaryKeeps(name) {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) == 0 {
		return
	}
	sort.Strings(ignored)
	t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "CanaryAnnotationIgnored", Field: "metadata.annotations",
		Message: fmt.Sprintf("a canary Ingress takes its behaviour from the main Ingress, so these annotations have no effect here: %s (a canary keeps only canary-*, load-balance, upstream-hash-by*, affinity*, session-cookie-* and service-upstream)", strings.Join(ignored, ", "))})
}

// finishCanaries attaches the canaries and records the defaults; it runs
// once every Ingress has been read and before routes are ordered.
func (t *Builder) finishCanaries() {
	t.Config.TrafficDefaults = t.pol.TrafficDefaults()
	for _, pc := range t.pendingCanaries {
		t.attachCanary(pc)
	}
}

func (t *Builder) attachCanary(pc pendingCanary) {
	ing, ref := pc.ing, t.Ref(pc.ing)
	if len(ing.Spec.Rules) == 0 {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryWithoutMain", Field: "spec",
			Message: "a canary Ingress without rules is not supported (its defaultBackend is not used); the canary receives no traffic"})
		return
	}
	for i, rule := range ing.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		host := strings.ToLower(strings.TrimSuffix(rule.Host, "."))
		var hb *hostBuilder
		if host == "" {
			hb = t.catchAll
		} else {
			hb = t.hosts[host]
		}
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			pfield := fmt.Sprintf("%s.http.paths[%d]", field, j)
			path := p.Path
			if path == "" {
				path = "/"
			}
			typ := networkingv1.PathTypeImplementationSpecific
			if p.PathType != nil {
				typ = *p.PathType
			}
			var main *pathEntry
			if hb != nil {
				for _, pe := range hb.paths {
					if pe.rawPath == path && pe.typ == typ {
						main = pe
						break
					}
				}
			}
			where := host
			if where == "" {
				where = "*"
			}
			if main == nil {
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryWithoutMain", Field: pfield,
					Message: fmt.Sprintf("no non-canary Ingress serves host %q path %q (%s); the canary receives no traffic", where, path, typ)})
				continue
			}
			rt := main.route
			if rt.Policy != nil && rt.Policy.Canary != nil {
				prev := rt.Policy.Canary.Source
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryConflict", Field: pfield,
					Message: fmt.Sprintf("host %q path %q already has a canary from ingress %s/%s (older); one canary per route, this one receives no traffic", where, path, prev.Namespace, prev.Ingress)})
				continue
			}
			n := len(t.Diags)
			crt := t.backendRoute(ing, &p.Backend, pfield+".backend", pc.ann)
			for k := n; k < len(t.Diags); k++ {
				// A canary backend that cannot serve leaves the traffic on
				// the main backend (ingress-nginx skips an alternative
				// backend without endpoints); say so instead of 503.
				t.Diags[k].Message = strings.Replace(t.Diags[k].Message, "answered with 503", "the main backend keeps all traffic", 1)
			}
			if crt.Pool == "" {
				continue
			}
			if crt.Pool == rt.Pool {
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanarySameBackend", Field: pfield + ".backend",
					Message: fmt.Sprintf("the canary backend is the main route's own backend (ingress %s/%s); the canary has no effect", rt.Source.Namespace, rt.Source.Ingress)})
				continue
			}
			c := *pc.ann.Canary
			c.Pool, c.Source = crt.Pool, crt.Source
			if cp := pc.ann.Policy; cp != nil {
				c.Balance, c.Affinity = cp.Balance, cp.Affinity
			}
			// The main Ingress's routes share one policy; this route gets
			// its own copy carrying the canary.
			np := routecfg.RoutePolicy{}
			if rt.Policy != nil {
				np = *rt.Policy
			}
			np.Canary = &c
			rt.Policy = &np
		}
	}
}
