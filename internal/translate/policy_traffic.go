package translate

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/affinity"
	"github.com/moat-ingress/moat/internal/annotations/balance"
	"github.com/moat-ingress/moat/internal/annotations/buffering"
	"github.com/moat-ingress/moat/internal/annotations/canary"
	"github.com/moat-ingress/moat/internal/annotations/ratelimit"
	"github.com/moat-ingress/moat/internal/annotations/timeouts"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// trafficState is what the traffic families keep across Ingresses: canary
// Ingresses wait until every main route exists (a canary may be older
// than its main Ingress).
type trafficState struct {
	canaryOf map[*networkingv1.Ingress]*routecfg.Canary
	pending  []pendingCanary
	defaults *routecfg.TrafficDefaults
}

type pendingCanary struct {
	ing *networkingv1.Ingress
	ann ingAnn
	c   *routecfg.Canary
}

// trafficDefaults are the controller-wide traffic settings: the controller
// ConfigMap's keys over ingress-nginx's defaults.
func (t *translator) trafficDefaults() *routecfg.TrafficDefaults {
	if t.traffic.defaults == nil {
		d := routecfg.DefaultTraffic()
		c := &t.ctrl
		d.Body.MaxBytes = c.ProxyBodySize
		if c.ProxyConnectTimeout > 0 {
			d.Timeouts.Connect = c.ProxyConnectTimeout
		}
		d.Timeouts.Read, d.Timeouts.Send = c.ProxyReadTimeout, c.ProxySendTimeout
		d.Timeouts.Next, d.Timeouts.Tries, d.Timeouts.NextTimeout = c.ProxyNextUpstream, c.ProxyNextUpstreamTries, c.ProxyNextUpstreamTimeout
		if c.RetryNonIdempotent && d.Timeouts.Next != 0 {
			d.Timeouts.Next |= routecfg.NextNonIdempotent
		}
		d.Body.ResponseBuffering, d.Body.RequestBuffering = c.ProxyBuffering, c.ProxyRequestBuffering
		d.Body.BufferBytes = c.ClientBodyBufferSize
		d.Body.ResponseHeaderMax, d.Body.BuffersNumber, d.Body.MaxTempFile = c.ProxyBufferSize, c.ProxyBuffersNumber, c.ProxyMaxTempFileSize
		d.Body.ResponseBuffers = buffering.ReadAhead(c.ProxyBuffersNumber, c.ProxyBufferSize)
		d.Balance = c.LoadBalance
		if c.LimitReqStatusCode != 0 {
			d.LimitReqStatus = c.LimitReqStatusCode
		}
		if c.LimitConnStatusCode != 0 {
			d.LimitConnStatus = c.LimitConnStatusCode
		}
		t.traffic.defaults = &d
	}
	return t.traffic.defaults
}

// trafficPolicies fills the traffic families of p; it reports whether any
// is set.
func (t *translator) trafficPolicies(r *annotations.Reader, ing *networkingv1.Ingress, p *routecfg.RoutePolicy) bool {
	def := t.trafficDefaults()
	if c := canary.Parse(r); c != nil {
		if t.traffic.canaryOf == nil {
			t.traffic.canaryOf = map[*networkingv1.Ingress]*routecfg.Canary{}
		}
		t.traffic.canaryOf[ing] = c
	}
	p.Affinity = affinity.Parse(r)
	p.Balance = balance.Parse(r)
	if _, set := r.Raw("load-balance"); p.Balance != nil && !set {
		p.Balance.Algorithm = def.Balance
	}
	p.Limits = ratelimit.ParseDefaults(r, t.ctrl.LimitRate, t.ctrl.LimitRateAfter)
	p.Body = buffering.Parse(r, def.Body)
	p.Timeouts = timeouts.Parse(r, def.Timeouts)
	if p.Timeouts != nil && t.ctrl.RetryNonIdempotent && p.Timeouts.Next != 0 {
		// ingress-nginx's buildNextUpstream appends non_idempotent to
		// every location's list.
		p.Timeouts.Next |= routecfg.NextNonIdempotent
	}
	if p.Affinity != nil && p.Balance != nil && p.Balance.HashBy != nil {
		t.add(diag.Diagnostic{Object: r.Object, Severity: diag.Warning, Reason: "HashByWithAffinity", Field: "metadata.annotations." + r.FullKey("upstream-hash-by"),
			Message: "upstream-hash-by has no effect with affinity: cookie (ingress-nginx's precedence)"})
	}
	return p.Affinity != nil || p.Balance != nil || p.Limits != nil || p.Body != nil || p.Timeouts != nil
}

// deferCanary holds back a canary Ingress: ingress-nginx creates no
// server or location for it ("is marked as Canary, ignoring") and merges
// its backends into the main routes once all Ingresses are read.
func (t *translator) deferCanary(ing *networkingv1.Ingress, ann ingAnn) bool {
	c := t.traffic.canaryOf[ing]
	if c == nil {
		return false
	}
	t.traffic.pending = append(t.traffic.pending, pendingCanary{ing: ing, ann: ann, c: c})
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

func (t *translator) canaryIgnoredAnnotations(ing *networkingv1.Ingress) {
	prefix := t.opts.AnnotationPrefix
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
	t.add(diag.Diagnostic{Object: t.ref(ing), Severity: diag.Warning, Reason: "CanaryAnnotationIgnored", Field: "metadata.annotations",
		Message: fmt.Sprintf("a canary Ingress takes its behaviour from the main Ingress, so these annotations have no effect here: %s (a canary keeps only canary-*, load-balance, upstream-hash-by*, affinity*, session-cookie-* and service-upstream)", strings.Join(ignored, ", "))})
}

// finishTraffic attaches the canaries and records the defaults; it runs
// once every Ingress has been read and before routes are ordered.
func (t *translator) finishTraffic() {
	t.cfg.TrafficDefaults = t.trafficDefaults()
	for _, pc := range t.traffic.pending {
		t.attachCanary(pc)
	}
}

func (t *translator) attachCanary(pc pendingCanary) {
	ing, ref := pc.ing, t.ref(pc.ing)
	if len(ing.Spec.Rules) == 0 {
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryWithoutMain", Field: "spec",
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
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryWithoutMain", Field: pfield,
					Message: fmt.Sprintf("no non-canary Ingress serves host %q path %q (%s); the canary receives no traffic", where, path, typ)})
				continue
			}
			rt := main.route
			if rt.Policy != nil && rt.Policy.Canary != nil {
				prev := rt.Policy.Canary.Source
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanaryConflict", Field: pfield,
					Message: fmt.Sprintf("host %q path %q already has a canary from ingress %s/%s (older); one canary per route, this one receives no traffic", where, path, prev.Namespace, prev.Ingress)})
				continue
			}
			n := len(t.diags)
			crt := t.backendRoute(ing, &p.Backend, pfield+".backend", pc.ann)
			for k := n; k < len(t.diags); k++ {
				// A canary backend that cannot serve leaves the traffic on
				// the main backend (ingress-nginx skips an alternative
				// backend without endpoints); say so instead of 503.
				t.diags[k].Message = strings.Replace(t.diags[k].Message, "answered with 503", "the main backend keeps all traffic", 1)
			}
			if crt.Pool == "" {
				continue
			}
			if crt.Pool == rt.Pool {
				t.add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "CanarySameBackend", Field: pfield + ".backend",
					Message: fmt.Sprintf("the canary backend is the main route's own backend (ingress %s/%s); the canary has no effect", rt.Source.Namespace, rt.Source.Ingress)})
				continue
			}
			c := *pc.c
			c.Pool, c.Source = crt.Pool, crt.Source
			if cp := pc.ann.policy; cp != nil {
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

// clusterIPSuffix keys service-upstream pools apart from endpoint pools of
// the same Service port.
const clusterIPSuffix = "|cluster-ip"

func serviceUpstreamSuffix(ann ingAnn) string {
	if ann.policy != nil && ann.policy.Balance != nil && ann.policy.Balance.ServiceUpstream {
		return clusterIPSuffix
	}
	return ""
}

// serviceUpstream replaces the pool's endpoints with the Service's cluster
// IP and port (service-upstream). Like ingress-nginx it keeps the
// endpoints for Services without a cluster IP (headless, ExternalName).
func (t *translator) serviceUpstream(ing *networkingv1.Ingress, sb *networkingv1.IngressServiceBackend, pool *routecfg.Pool, d *diag.Diagnostic, ann ingAnn) (*routecfg.Pool, *diag.Diagnostic) {
	if pool == nil || serviceUpstreamSuffix(ann) == "" {
		return pool, d
	}
	svc := t.sn.Services[ing.Namespace+"/"+sb.Name]
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return pool, d
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		t.add(diag.Diagnostic{Object: t.ref(ing), Severity: diag.Warning, Reason: "ServiceUpstreamHeadless",
			Field:   "metadata.annotations." + t.annotationKey("service-upstream"),
			Message: fmt.Sprintf("service %s/%s has no cluster IP; its endpoints are used", svc.Namespace, svc.Name)})
		return pool, d
	}
	for _, sp := range svc.Spec.Ports {
		if (sb.Port.Name != "" && sp.Name == sb.Port.Name) || (sb.Port.Name == "" && sp.Port == sb.Port.Number) {
			pool.Endpoints = []routecfg.Endpoint{{Address: net.JoinHostPort(ip, strconv.Itoa(int(sp.Port)))}}
			// kube-proxy balances: endpoint readiness no longer decides.
			return pool, nil
		}
	}
	return pool, d
}

func (t *translator) annotationKey(name string) string {
	if t.opts.AnnotationPrefix == "" {
		return annotations.DefaultPrefix + "/" + name
	}
	return t.opts.AnnotationPrefix + "/" + name
}
