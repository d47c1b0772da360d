package translate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/authbasic"
	"github.com/moat-ingress/moat/internal/annotations/authexternal"
	"github.com/moat-ingress/moat/internal/annotations/cors"
	"github.com/moat-ingress/moat/internal/annotations/errorpages"
	"github.com/moat-ingress/moat/internal/annotations/headers"
	"github.com/moat-ingress/moat/internal/annotations/ipaccess"
	"github.com/moat-ingress/moat/internal/annotations/logs"
	"github.com/moat-ingress/moat/internal/annotations/proxyrewrite"
	"github.com/moat-ingress/moat/internal/annotations/redirect"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/annotations/serveralias"
	"github.com/moat-ingress/moat/internal/annotations/snippet"
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// httpState is what the HTTP families keep across Ingresses: host-level
// settings, applied to the hosts each Ingress names (oldest first wins).
type httpState struct {
	host map[*networkingv1.Ingress]*hostHTTP
}

type hostHTTP struct {
	appRoot       string
	fromToWWW     bool
	aliases       []string
	serverHeaders *routecfg.Headers
}

// refusedIngress applies annotation-value-word-blocklist and
// annotations-risk-level: an Ingress that breaks them is not served. A
// snippet while allow-snippet-annotations is false only gets a warning;
// annotationsFor drops it.
func (t *translator) refusedIngress(ing *networkingv1.Ingress) bool {
	if t.blockedWord(ing) {
		return true
	}
	ds, refused := annotations.Gate(t.opts.AnnotationPrefix, ing.Annotations, t.ref(ing), registry.Known(), t.ctrl.AnnotationsRiskLevel, t.ctrl.AllowSnippetAnnotations)
	t.diags = append(t.diags, ds...)
	return refused
}

// blockedWord applies annotation-value-word-blocklist: an Ingress with an
// annotation (of the prefix) whose value contains a listed word is not
// served, as ingress-nginx skips it. Words are matched case-sensitively,
// as there.
func (t *translator) blockedWord(ing *networkingv1.Ingress) bool {
	words := t.ctrl.AnnotationValueWordBlocklist
	if len(words) == 0 {
		return false
	}
	prefix := t.opts.AnnotationPrefix
	if prefix == "" {
		prefix = annotations.DefaultPrefix
	}
	for _, k := range sortedKeys(ing.Annotations) {
		if !strings.HasPrefix(k, prefix+"/") {
			continue
		}
		for _, w := range words {
			if strings.Contains(ing.Annotations[k], w) {
				t.add(diag.Diagnostic{Object: t.ref(ing), Severity: diag.Error, Reason: "AnnotationValueBlocked", Field: "metadata.annotations." + k,
					Message: fmt.Sprintf("annotation %s contains %q, a word of the controller ConfigMap's annotation-value-word-blocklist; the Ingress is not served", k, w)})
				return true
			}
		}
	}
	return false
}

// httpPolicies fills the HTTP behaviour families of p; it reports whether
// any is set.
func (t *translator) httpPolicies(r *annotations.Reader, ing *networkingv1.Ingress, p *routecfg.RoutePolicy) bool {
	denied := ""
	deny := func(reason string) {
		if denied == "" {
			denied = reason
		}
	}

	rd := redirect.Parse(r)
	if rd.Redirect != nil {
		rd.Redirect.Location = rd.URL
		p.Redirect = rd.Redirect
	}
	p.CORS = cors.Parse(r)
	p.Access = ipaccess.ParseDefaults(r, t.ctrl.WhitelistSourceRange, t.ctrl.DenylistSourceRange)
	if p.Access != nil && p.Access.Denied != "" {
		deny(p.Access.Denied)
	}
	if why := t.proxySSLSecretDenied(r, ing); why != "" {
		deny(why)
	}
	p.BasicAuth = t.basicAuth(r, ing, deny)
	p.ExternalAuth = t.externalAuth(r, ing, deny)
	p.ErrorPages = t.errorPages(r, ing)
	p.Headers = t.headers(r, ing, deny)
	p.Logging = logs.Parse(r)
	p.ProxyRewrite = proxyrewrite.ParseDefaults(r, t.ctrl.ProxyCookieDomain, t.ctrl.ProxyCookiePath)
	p.Tracing = t.tracingAnnotations(r)
	p.WAF = t.wafPolicy(r, ing, deny)

	hh := &hostHTTP{appRoot: rd.AppRoot, fromToWWW: rd.FromToWWW, aliases: serveralias.Parse(r)}
	if v, ok := r.Raw("server-snippet"); ok {
		h, err := snippet.Parse(v, true)
		if err != nil {
			t.add(diag.Diagnostic{Object: t.ref(ing), Severity: diag.Error, Reason: "SnippetRefused", Field: "metadata.annotations." + r.FullKey("server-snippet"),
				Message: fmt.Sprintf("server-snippet is refused: %v; none of it is applied", err)})
		} else {
			hh.serverHeaders = h
		}
	}
	if hh.appRoot != "" || hh.fromToWWW || len(hh.aliases) > 0 || hh.serverHeaders != nil {
		if t.http.host == nil {
			t.http.host = map[*networkingv1.Ingress]*hostHTTP{}
		}
		t.http.host[ing] = hh
	}

	if denied != "" {
		if p.Access == nil {
			p.Access = &routecfg.Access{}
		}
		p.Access.Denied = denied
	}
	return p.Redirect != nil || p.CORS != nil || p.Access != nil || p.BasicAuth != nil || p.ExternalAuth != nil ||
		p.ErrorPages != nil || p.Headers != nil || p.Logging != nil || p.ProxyRewrite != nil || p.Tracing != nil || p.WAF != nil
}

func (t *translator) annDiag(r *annotations.Reader, key string, sev diag.Severity, reason, msg string) {
	t.add(diag.Diagnostic{Object: r.Object, Severity: sev, Reason: reason, Field: "metadata.annotations." + r.FullKey(key), Message: msg})
}

// sameNamespace resolves "name" or "namespace/name" for an object an
// Ingress refers to; other namespaces are refused, as for TLS Secrets.
func (t *translator) sameNamespace(r *annotations.Reader, ing *networkingv1.Ingress, key, ref, kind string) (string, bool) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return ing.Namespace + "/" + ref, true
	}
	if ns != ing.Namespace {
		t.annDiag(r, key, diag.Error, "AnnotationCrossNamespace",
			fmt.Sprintf("%s %s is in another namespace: an Ingress can only use %ss of its own namespace (%s)", kind, ref, kind, ing.Namespace))
		return "", false
	}
	return ns + "/" + name, true
}

// proxySSLSecretDenied is ingress-nginx's proxyssl parser: a
// proxy-ssl-secret that is malformed, in another namespace, missing or
// without tls.crt/tls.key or ca.crt makes it return LocationDenied, so
// the Ingress's paths answer 503, whatever the backend protocol.
func (t *translator) proxySSLSecretDenied(r *annotations.Reader, ing *networkingv1.Ingress) string {
	v := strings.TrimSpace(r.String("proxy-ssl-secret", ""))
	if v == "" {
		return ""
	}
	ns, name, found := strings.Cut(v, "/")
	if !found {
		ns, name = ing.Namespace, v
	}
	if name == "" || ns == "" || strings.Contains(name, "/") {
		return "invalid proxy-ssl-secret" // reported by proxyssl.Parse
	}
	ref := ns + "/" + name
	switch sec, ok := t.sn.Secrets[ref]; {
	case ns != ing.Namespace:
		t.annDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretCrossNamespace",
			fmt.Sprintf("proxy-ssl-secret %s is in another namespace; an Ingress may only use Secrets of its own namespace (%s): the paths are denied (503), as in ingress-nginx", ref, ing.Namespace))
		return "proxy-ssl-secret in another namespace"
	case !ok:
		t.annDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretNotFound",
			fmt.Sprintf("proxy-ssl-secret %s not found: the paths are denied (503) until it exists, as in ingress-nginx", ref))
		return "proxy-ssl-secret not found"
	case len(sec.Data["tls.crt"]) == 0 && len(sec.Data["tls.key"]) == 0 && len(sec.Data["ca.crt"]) == 0:
		t.annDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretInvalid",
			fmt.Sprintf("secret %s has neither tls.crt/tls.key nor ca.crt: the paths are denied (503), as in ingress-nginx", ref))
		return "proxy-ssl-secret unusable"
	}
	return ""
}

func (t *translator) basicAuth(r *annotations.Reader, ing *networkingv1.Ingress, deny func(string)) *routecfg.BasicAuth {
	c := authbasic.Parse(r)
	if !c.Enabled {
		return nil
	}
	if c.Denied != "" {
		deny(c.Denied)
		return nil
	}
	ref := c.Name
	if c.Namespace != "" {
		ref = c.Namespace + "/" + c.Name
	}
	key, ok := t.sameNamespace(r, ing, "auth-secret", ref, "Secret")
	if !ok {
		deny("auth-secret in another namespace")
		return nil
	}
	sec, ok := t.sn.Secrets[key]
	if !ok {
		t.annDiag(r, "auth-secret", diag.Error, "AuthSecretNotFound", fmt.Sprintf("secret %s not found: the paths are denied (503) until it exists", key))
		deny("auth-secret not found")
		return nil
	}
	users := map[string]string{}
	var bad []string
	if c.Map {
		for u, h := range sec.Data {
			if err := authbasic.CheckHash(string(h)); err != nil {
				bad = append(bad, fmt.Sprintf("user %q: %v", u, err))
				continue
			}
			users[u] = string(h)
		}
	} else {
		data, ok := sec.Data["auth"]
		if !ok {
			t.annDiag(r, "auth-secret", diag.Error, "AuthSecretInvalid", fmt.Sprintf("secret %s has no key \"auth\" (htpasswd lines): the paths are denied (503)", key))
			deny("auth-secret without auth")
			return nil
		}
		users, bad = authbasic.ParseFile(string(data))
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.annDiag(r, "auth-secret", diag.Error, "AuthSecretInvalid", fmt.Sprintf("secret %s: %s; that user cannot log in", key, b))
	}
	return &routecfg.BasicAuth{Realm: c.Realm, Users: users}
}

func (t *translator) externalAuth(r *annotations.Reader, ing *networkingv1.Ingress, deny func(string)) *routecfg.ExternalAuth {
	c := authexternal.Parse(r)
	s := c.Settings
	global := false
	if s.URL == "" {
		g := t.ctrl.GlobalAuth
		if g.URL == "" || !c.GlobalAuth {
			return nil
		}
		global = true
		s = authexternal.Settings{URL: g.URL, Method: g.Method, Signin: g.Signin, SigninParam: g.SigninRedirectParam,
			RequestRedirect: g.RequestRedirect, CacheKey: g.CacheKey, CacheDuration: g.CacheDuration,
			ResponseHeaders: g.ResponseHeaders, AlwaysSetCookie: g.AlwaysSetCookie}
	}
	a := authexternal.Build(s, func(key, value, why string) {
		if global {
			t.add(diag.Diagnostic{Object: diag.ObjectRef{Kind: "ConfigMap", Name: t.opts.ConfigMap}, Severity: diag.Error, Reason: "ConfigMapInvalidValue",
				Field: "data.global-" + key, Message: fmt.Sprintf("invalid value %q: %s", value, why)})
			return
		}
		r.Invalid(key, value, why)
	})
	if a == nil {
		deny("invalid auth-url")
		return nil
	}
	t.checkAuthSelf(r, s.URL, global)
	if c.ProxySetHeaders != "" && !global {
		if key, ok := t.sameNamespace(r, ing, "auth-proxy-set-headers", c.ProxySetHeaders, "ConfigMap"); ok {
			cm, found := t.sn.ConfigMaps[key]
			if !found {
				t.annDiag(r, "auth-proxy-set-headers", diag.Error, "ConfigMapNotFound", fmt.Sprintf("ConfigMap %s not found; no headers are added to the auth request", key))
			} else {
				for _, name := range sortedKeys(cm.Data) {
					v := cm.Data[name]
					tv, err := annotations.ParseTemplate(v)
					if !nginx.ValidHeaderName(name) || err != nil || !annotations.ValidHeaderValue(v) {
						t.annDiag(r, "auth-proxy-set-headers", diag.Error, "AnnotationInvalidValue", fmt.Sprintf("ConfigMap %s entry %q: %q is not a header name and value moat can send; skipped", key, name, v))
						continue
					}
					a.SetHeaders = append(a.SetHeaders, routecfg.TemplateHeader{Name: name, Value: tv})
				}
			}
		}
	}
	return a
}

// errorPages is ingress-nginx's error_page handling for one location.
// The Ingress's custom-http-errors replace the ConfigMap's (a location
// with error_page directives of its own inherits none from the http
// level) and go to its default-backend; the ConfigMap's go to
// --default-backend-service (@custom_upstream-default-backend_CODE) even
// when the Ingress names a default-backend. proxy_intercept_errors is
// on at the http level when the ConfigMap lists codes (unless its
// disable-proxy-intercept-errors), and on in the location when the
// Ingress lists codes and does not set disable-proxy-intercept-errors;
// a location that does not turn it on inherits the http level's.
func (t *translator) errorPages(r *annotations.Reader, ing *networkingv1.Ingress) *routecfg.ErrorPages {
	c := errorpages.Parse(r)
	e := &routecfg.ErrorPages{}
	if c.DefaultBackend != "" {
		e.Backend = t.defaultBackendPool(r, ing, c.DefaultBackend)
	}
	global := len(t.ctrl.CustomHTTPErrors) > 0 && !t.ctrl.DisableProxyInterceptErrors
	if c.CodesSet {
		if slices.ContainsFunc(c.Codes, func(c int) bool { return c < 400 }) {
			t.annDiag(r, "custom-http-errors", diag.Info, "AnnotationValueDiffers", "custom-http-errors: "+controllerconfig.RedirectCodesNote)
		}
		e.Codes, e.Pool = c.Codes, e.Backend
		e.Intercept = !c.NoIntercept || global
	} else {
		e.Codes, e.Intercept = t.ctrl.CustomHTTPErrors, global
	}
	// proxy_intercept_errors is the proxy module's: grpc_pass and
	// fastcgi_pass locations never replace upstream answers (moat's own
	// 502, 503, 504 still are).
	if p, _ := r.Raw("backend-protocol"); strings.EqualFold(strings.TrimSpace(p), "GRPC") || strings.EqualFold(strings.TrimSpace(p), "GRPCS") || strings.EqualFold(strings.TrimSpace(p), "FCGI") {
		e.Intercept = false
	}
	if c.NoIntercept && global {
		t.annDiag(r, "disable-proxy-intercept-errors", diag.Warning, "AnnotationNoEffect",
			"disable-proxy-intercept-errors has no effect while the ConfigMap's custom-http-errors turn interception on for every location (ingress-nginx's location inherits proxy_intercept_errors on from the http level); upstream answers with the listed codes are still replaced")
	}
	if len(e.Codes) == 0 {
		e.Codes, e.Intercept = nil, false
		if e.Backend == "" {
			return nil
		}
	}
	return e
}

// defaultBackendPool registers the pool of the default-backend Service's
// first port (ingress-nginx uses the first port).
func (t *translator) defaultBackendPool(r *annotations.Reader, ing *networkingv1.Ingress, name string) string {
	svc, ok := t.sn.Services[ing.Namespace+"/"+name]
	if !ok || len(svc.Spec.Ports) == 0 {
		t.annDiag(r, "default-backend", diag.Error, "ServiceNotFound", fmt.Sprintf("default-backend service %q not found in namespace %s (or it has no ports)", name, ing.Namespace))
		return ""
	}
	b := &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: svc.Spec.Ports[0].Port}}}
	rt := t.backendRoute(ing, b, "metadata.annotations."+r.FullKey("default-backend"), ingAnn{})
	return rt.Pool
}

func (t *translator) headers(r *annotations.Reader, ing *networkingv1.Ingress, deny func(string)) *routecfg.Headers {
	c := headers.Parse(r)
	h := &routecfg.Headers{Connection: c.Connection, HTTP10: c.HTTP10, XForwardedPrefix: c.XForwardedPrefix}
	if c.CustomHeaders != "" {
		if key, ok := t.sameNamespace(r, ing, "custom-headers", c.CustomHeaders, "ConfigMap"); ok {
			h.Set = append(h.Set, t.customHeaders(r, key)...)
		}
	}
	if v, ok := r.Raw("configuration-snippet"); ok {
		s, err := snippet.Parse(v, false)
		if err != nil {
			t.annDiag(r, "configuration-snippet", diag.Error, "SnippetRefused",
				fmt.Sprintf("configuration-snippet is refused: %v; none of it is applied and the paths are denied (503), since it may have carried access control", err))
			deny("configuration-snippet refused")
		} else {
			h.Input = append(h.Input, s.Input...)
			h.Upstream = append(h.Upstream, s.Upstream...)
			h.Set = append(h.Set, s.Set...)
			h.Add = append(h.Add, s.Add...)
		}
	}
	if h.Empty() {
		return nil
	}
	return h
}

// customHeaders reads the custom-headers ConfigMap; like ingress-nginx
// every header must be allowed by global-allowed-response-headers, else
// the annotation is ignored.
func (t *translator) customHeaders(r *annotations.Reader, key string) []routecfg.Header {
	cm, ok := t.sn.ConfigMaps[key]
	if !ok {
		t.annDiag(r, "custom-headers", diag.Error, "ConfigMapNotFound", fmt.Sprintf("ConfigMap %s not found; no headers are added", key))
		return nil
	}
	var out []routecfg.Header
	for _, name := range sortedKeys(cm.Data) {
		v := cm.Data[name]
		if !nginx.ValidHeaderName(name) || !annotations.ValidHeaderValue(v) {
			t.annDiag(r, "custom-headers", diag.Error, "AnnotationInvalidValue", fmt.Sprintf("ConfigMap %s entry %q: not a header name and value; the annotation is ignored", key, name))
			return nil
		}
		if !slices.ContainsFunc(t.ctrl.GlobalAllowedResponseHeaders, func(a string) bool { return strings.EqualFold(a, name) }) {
			t.annDiag(r, "custom-headers", diag.Error, "CustomHeaderNotAllowed",
				fmt.Sprintf("header %q from ConfigMap %s is not in the controller ConfigMap's global-allowed-response-headers; the annotation is ignored", name, key))
			return nil
		}
		out = append(out, routecfg.Header{Name: name, Value: v})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hostHTTP applies an Ingress's host-level settings to one of its hosts;
// the oldest Ingress that sets each wins, as nginx server settings do.
func (t *translator) hostHTTP(hb *hostBuilder, ing *networkingv1.Ingress) {
	hh := t.http.host[ing]
	if hh == nil || hb.vh.Host == "" {
		return
	}
	if hb.vh.Policy == nil {
		hb.vh.Policy = &routecfg.HostPolicy{}
	}
	hp := hb.vh.Policy
	if hh.appRoot != "" && hp.AppRoot == "" {
		hp.AppRoot = hh.appRoot
	}
	if hh.serverHeaders != nil && hp.Headers == nil {
		hp.Headers = hh.serverHeaders
	}
	if hh.fromToWWW {
		hb.wwwRedirect = true
	}
	if len(hh.aliases) > 0 {
		if hb.aliases == nil {
			hb.aliases = hh.aliases
			hb.aliasFrom = ing
		} else if hb.aliasFrom != ing {
			t.add(diag.Diagnostic{Object: t.ref(ing), Severity: diag.Warning, Reason: "ServerAliasConflict", Field: "metadata.annotations." + annotations.NewReader(t.opts.AnnotationPrefix, nil, diag.ObjectRef{}).FullKey("server-alias"),
				Message: fmt.Sprintf("host %q already has aliases from ingress %s/%s (older); these are ignored", hb.vh.Host, hb.aliasFrom.Namespace, hb.aliasFrom.Name)})
		}
	}
	if hp.AppRoot == "" && hp.Headers == nil {
		hb.vh.Policy = nil
	}
}

// finishHTTP adds the alias and www-redirect hosts once every Ingress's
// hosts exist, routes Ingresses with a default-backend to it when their
// Service has no endpoints, and keeps VirtualHosts sorted.
func (t *translator) finishHTTP() {
	existing := map[string]bool{}
	for _, vh := range t.cfg.VirtualHosts {
		existing[vh.Host] = true
	}
	var added []*routecfg.VirtualHost
	for _, vh := range t.cfg.VirtualHosts {
		hb := t.hosts[vh.Host]
		if hb == nil {
			continue
		}
		for _, a := range hb.aliases {
			if existing[a] {
				t.add(diag.Diagnostic{Object: t.ref(hb.aliasFrom), Severity: diag.Warning, Reason: "ServerAliasConflict",
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
				t.add(diag.Diagnostic{Object: t.ref(hb.creator), Severity: diag.Warning, Reason: "FromToWWWConflict",
					Message: fmt.Sprintf("from-to-www-redirect: host %q is already served by a rule; no redirect from it to %q", from, vh.Host)})
				continue
			}
			existing[from] = true
			code := t.ctrl.HTTPRedirectCode
			r := &routecfg.VirtualHost{Host: from, TLS: vh.TLS, Policy: &routecfg.HostPolicy{RedirectHost: vh.Host, RedirectCode: code}}
			if vh.Certificate != "" && t.certCovers(vh.Certificate, from) {
				r.Certificate = vh.Certificate
			}
			added = append(added, r)
		}
	}
	t.cfg.VirtualHosts = append(t.cfg.VirtualHosts, added...)
	sort.Slice(t.cfg.VirtualHosts, func(i, j int) bool { return t.cfg.VirtualHosts[i].Host < t.cfg.VirtualHosts[j].Host })

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
			if b := t.cfg.Pools[rt.Policy.ErrorPages.Backend]; b == nil || len(b.Endpoints) == 0 {
				continue
			}
			if p := t.cfg.Pools[rt.Pool]; rt.Pool == "" || p == nil || len(p.Endpoints) == 0 {
				rt.Pool, rt.Status, rt.NoEndpoints = rt.Policy.ErrorPages.Backend, 0, true
			}
		}
	}
	for _, vh := range t.cfg.VirtualHosts {
		fallback(vh)
		t.noAuth(vh)
	}
	fallback(t.cfg.CatchAll)
	t.noAuth(t.cfg.CatchAll)
}

// noAuth drops authentication from routes whose Ingress path starts with
// one of the ConfigMap's no-auth-locations: ingress-nginx's template skips
// auth_request, the signin error_page and auth_basic for those locations
// (isLocationInLocationList on the location's path), whether the auth
// comes from the Ingress or from global-auth-url. The address checks stay.
func (t *translator) noAuth(vh *routecfg.VirtualHost) {
	if vh == nil || len(t.ctrl.NoAuthLocations) == 0 {
		return
	}
	for _, rt := range vh.Routes {
		p := rt.Policy
		if p == nil || (p.BasicAuth == nil && p.ExternalAuth == nil) {
			continue
		}
		for _, loc := range t.ctrl.NoAuthLocations {
			if strings.HasPrefix(rt.Path, loc) {
				np := *p
				np.BasicAuth, np.ExternalAuth = nil, nil
				rt.Policy = &np
				break
			}
		}
	}
}

func (t *translator) certCovers(ref, host string) bool {
	c := t.cfg.Certificates[ref]
	return c != nil && c.Cert.Leaf != nil && c.Cert.Leaf.VerifyHostname(host) == nil
}
