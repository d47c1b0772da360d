package ingress

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/policy"
	networkingv1 "k8s.io/api/networking/v1"
)

// applyHostAnnotations applies an Ingress's host-level settings to one of its hosts;
// the oldest Ingress that sets each wins, as nginx server settings do.
func (t *Builder) applyHostAnnotations(hb *hostBuilder, ing *networkingv1.Ingress, hh *policy.HostAnn) {
	if hh == nil || hb.vh.Host == "" {
		return
	}
	if hb.vh.Policy == nil {
		hb.vh.Policy = &routecfg.HostPolicy{}
	}
	hp := hb.vh.Policy
	if hh.AppRoot != "" && hp.AppRoot == "" {
		hp.AppRoot = hh.AppRoot
	}
	if hh.ServerHeaders != nil && hp.Headers == nil {
		hp.Headers = hh.ServerHeaders
	}
	if hh.FromToWWW {
		hb.wwwRedirect = true
	}
	if len(hh.Aliases) > 0 {
		if hb.aliases == nil {
			hb.aliases = hh.Aliases
			hb.aliasFrom = ing
		} else if hb.aliasFrom != ing {
			t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "ServerAliasConflict", Field: "metadata.annotations." + t.AnnKey("server-alias"),
				Message: fmt.Sprintf("host %q already has aliases from ingress %s/%s (older); these are ignored", hb.vh.Host, hb.aliasFrom.Namespace, hb.aliasFrom.Name)})
		}
	}
	if hp.AppRoot == "" && hp.Headers == nil {
		hb.vh.Policy = nil
	}
}

// finishHosts adds the alias and www-redirect hosts once every Ingress's
// hosts exist, routes Ingresses with a default-backend to it when their
// Service has no endpoints, and keeps VirtualHosts sorted.
func (t *Builder) finishHosts() {
	existing := map[string]bool{}
	for _, vh := range t.Config.VirtualHosts {
		existing[vh.Host] = true
	}
	var added []*routecfg.VirtualHost
	for _, vh := range t.Config.VirtualHosts {
		hb := t.hosts[vh.Host]
		if hb == nil {
			continue
		}
		for _, a := range hb.aliases {
			if existing[a] {
				t.Add(diag.Diagnostic{Object: t.Ref(hb.aliasFrom), Severity: diag.Warning, Reason: "ServerAliasConflict",
					Message: fmt.Sprintf("server-alias %q is also a host of a rule (or another alias); the alias is dropped, as ingress-nginx does", a)})
				continue
			}
			existing[a] = true
			alias := *vh
			alias.Host = a
			if alias.Certificate != "" && !t.certCovers(alias.Certificate, a) {
				alias.Certificate = ""
			}
			added = append(added, &alias)
		}
		if hb.wwwRedirect && !strings.HasPrefix(vh.Host, "*.") {
			from := "www." + vh.Host
			if rest, ok := strings.CutPrefix(vh.Host, "www."); ok {
				from = rest
			}
			if existing[from] {
				t.Add(diag.Diagnostic{Object: t.Ref(hb.creator), Severity: diag.Warning, Reason: "FromToWWWConflict",
					Message: fmt.Sprintf("from-to-www-redirect: host %q is already served by a rule; no redirect from it to %q", from, vh.Host)})
				continue
			}
			existing[from] = true
			code := t.Ctrl.HTTPRedirectCode
			r := &routecfg.VirtualHost{Host: from, TLS: vh.TLS, Policy: &routecfg.HostPolicy{RedirectHost: vh.Host, RedirectCode: code}}
			if vh.Certificate != "" && t.certCovers(vh.Certificate, from) {
				r.Certificate = vh.Certificate
			}
			added = append(added, r)
		}
	}
	t.Config.VirtualHosts = append(t.Config.VirtualHosts, added...)
	sort.Slice(t.Config.VirtualHosts, func(i, j int) bool { return t.Config.VirtualHosts[i].Host < t.Config.VirtualHosts[j].Host })

	// A route whose Service has no ready endpoint is served by its
	// default-backend when that has some (ingress-nginx's
	// custom-default-backend-NS-NAME upstream; else the 503 stays).
	fallback := func(vh *routecfg.VirtualHost) {
		if vh == nil {
			return
		}
		for _, rt := range vh.Routes {
			if rt.Policy == nil || rt.Policy.ErrorPages == nil || rt.Policy.ErrorPages.Backend == "" {
				continue
			}
			if b := t.Config.Pools[rt.Policy.ErrorPages.Backend]; b == nil || len(b.Endpoints) == 0 {
				continue
			}
			if p := t.Config.Pools[rt.Pool]; rt.Pool == "" || p == nil || len(p.Endpoints) == 0 {
				rt.Pool, rt.Status, rt.NoEndpoints = rt.Policy.ErrorPages.Backend, 0, true
			}
		}
	}
	for _, vh := range t.Config.VirtualHosts {
		fallback(vh)
		t.noAuth(vh)
	}
	fallback(t.Config.CatchAll)
	t.noAuth(t.Config.CatchAll)
}

// noAuth drops authentication from routes whose Ingress path starts with
// one of the ConfigMap's no-auth-locations: ingress-nginx's template skips
// auth_request, the signin error_page and auth_basic for those locations
// (isLocationInLocationList on the location's path), whether the auth
// comes from the Ingress or from global-auth-url. The address checks stay.
func (t *Builder) noAuth(vh *routecfg.VirtualHost) {
	if vh == nil || len(t.Ctrl.NoAuthLocations) == 0 {
		return
	}
	for _, rt := range vh.Routes {
		p := rt.Policy
		if p == nil || (p.BasicAuth == nil && p.ExternalAuth == nil) {
			continue
		}
		for _, loc := range t.Ctrl.NoAuthLocations {
			if strings.HasPrefix(rt.Path, loc) {
				np := *p
				np.BasicAuth, np.ExternalAuth = nil, nil
				rt.Policy = &np
				break
			}
		}
	}
}

func (t *Builder) certCovers(ref, host string) bool {
	c := t.Config.Certificates[ref]
	return c != nil && c.Cert.Leaf != nil && c.Cert.Leaf.VerifyHostname(host) == nil
}
