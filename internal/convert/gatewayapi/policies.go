package gatewayapi

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Defaults of ingress-nginx the conversions below write out, so that the
// Gateway API objects (whose defaults differ) serve the same.
const (
	corsMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	corsHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
	corsMaxAge  = 1728000
	// The upstream timeouts' defaults (seconds): moat's Gateway
	// backendRequest bounds connect and send to min(default, value).
	defConnect, defSend, defRead = 5, 60, 60
)

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// corsFilter converts enable-cors and cors-*: the CORS filter with
// ingress-nginx's defaults written out. What Gateway API's CORS does
// differently is reported (moat serves the filter with its semantics,
// docs/gateway-api.md "CORS").
func (c *converter) corsFilter(ing *networkingv1.Ingress, notes *[]string) *gwv1.HTTPRouteFilter {
	a := func(k string) (string, bool) { v, ok := ing.Annotations[prefix+k]; return strings.TrimSpace(v), ok }
	if v, _ := a("enable-cors"); v != "true" {
		return nil
	}
	field := func(k string) string { return "metadata.annotations." + prefix + k }
	f := &gwv1.HTTPCORSFilter{AllowCredentials: ptr(true), MaxAge: corsMaxAge}
	origins, _ := a("cors-allow-origin")
	any := origins == ""
	for _, o := range splitList(origins) {
		if o == "*" {
			any = true
			break
		}
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			*notes = append(*notes, c.diag(ing, field("cors-allow-origin"), "origin %q: the CORS filter allows http and https origins only; left out", o))
			continue
		}
		if strings.Contains(o, "*") {
			*notes = append(*notes, c.diag(ing, field("cors-allow-origin"), "origin %q: \"*\" matches any number of labels in the CORS filter, one in ingress-nginx", o))
		}
		f.AllowOrigins = append(f.AllowOrigins, gwv1.CORSOrigin(o))
	}
	if any {
		f.AllowOrigins = []gwv1.CORSOrigin{"*"}
		*notes = append(*notes, c.diag(ing, field("cors-allow-origin"), "any origin: the CORS filter echoes the request's Origin where ingress-nginx answered \"*\""))
	}
	methods, ok := a("cors-allow-methods")
	if !ok {
		methods = corsMethods
	}
	for _, m := range splitList(methods) {
		f.AllowMethods = append(f.AllowMethods, gwv1.HTTPMethodWithWildcard(strings.ToUpper(m)))
	}
	headers, ok := a("cors-allow-headers")
	if !ok {
		headers = corsHeaders
	}
	for _, h := range splitList(headers) {
		f.AllowHeaders = append(f.AllowHeaders, gwv1.HTTPHeaderName(h))
	}
	expose, _ := a("cors-expose-headers")
	for _, h := range splitList(expose) {
		f.ExposeHeaders = append(f.ExposeHeaders, gwv1.HTTPHeaderName(h))
	}
	if v, ok := a("cors-allow-credentials"); ok && v == "false" {
		f.AllowCredentials = ptr(false)
	}
	if v, ok := a("cors-max-age"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			f.MaxAge = int32(min(n, 1<<31-1))
		} else {
			*notes = append(*notes, c.diag(ing, field("cors-max-age"), "%q is not a number of seconds; the default %d is written", v, corsMaxAge))
		}
	}
	*notes = append(*notes, c.diag(ing, field("enable-cors"), "the CORS filter answers a preflight 200; ingress-nginx answered 204"))
	return &gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterCORS, CORS: f}
}

// nginxSeconds parses an nginx time ("60", "60s", "2m") into seconds.
func nginxSeconds(v string) (int, bool) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n, true
	}
	if !regexp.MustCompile(`^([0-9]+(h|m|s|ms))+$`).MatchString(v) {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d%time.Second != 0 {
		return 0, false
	}
	return int(d / time.Second), true
}

// timeouts converts proxy-connect/send/read-timeout into a rule's
// backendRequest, moat's per-attempt bound: it is the read timeout, and
// bounds connect and send to min(default, it), which ingress2gateway's
// request = 10 × max(...) would not (request bounds no attempt when
// backendRequest is set, and retries stop at it). Values that bound
// connect or send differently are reported.
func (c *converter) timeouts(ing *networkingv1.Ingress, notes *[]string) *gwv1.HTTPRouteTimeouts {
	vals := map[string]int{"proxy-connect-timeout": defConnect, "proxy-send-timeout": defSend, "proxy-read-timeout": defRead}
	set := false
	for k := range vals {
		v, ok := ing.Annotations[prefix+k]
		if !ok {
			continue
		}
		n, ok := nginxSeconds(strings.TrimSpace(v))
		if !ok || n == 0 {
			*notes = append(*notes, c.diag(ing, "metadata.annotations."+prefix+k, "%q is not a positive nginx time; its default is assumed", v))
			continue
		}
		vals[k], set = n, true
	}
	if !set {
		return nil
	}
	r := vals["proxy-read-timeout"]
	if cn, s := vals["proxy-connect-timeout"], vals["proxy-send-timeout"]; cn != min(defConnect, r) || s != min(defSend, r) {
		*notes = append(*notes, c.diag(ing, "metadata.annotations", "backendRequest %ds bounds the connect at %ds and each send at %ds; the Ingress had connect %ds, send %ds",
			r, min(defConnect, r), min(defSend, r), cn, s))
	}
	return &gwv1.HTTPRouteTimeouts{BackendRequest: ptr(gwv1.Duration(strconv.Itoa(r) + "s"))}
}

// cookieRE matches a Cookie header holding name=value.
func cookieRE(name, value string) string {
	return `(^|;\s*)` + regexp.QuoteMeta(name) + `=` + regexp.QuoteMeta(value) + `(;|$)`
}

// backendTLS converts backend-protocol HTTPS/GRPCS with proxy-ssl-verify
// on and proxy-ssl-secret (holding ca.crt) into a BackendTLSPolicy per
// backend Service: its CA is the Secret, its hostname proxy-ssl-name
// (default service.namespace.svc, what moat verifies). A BackendTLSPolicy
// always verifies and sends the hostname as SNI, so TLS without
// verification is not converted, and SNI without proxy-ssl-server-name
// is reported.
func (c *converter) backendTLS(ing *networkingv1.Ingress, notes *[]string) {
	a := func(k string) string { return strings.TrimSpace(ing.Annotations[prefix+k]) }
	proto := strings.ToUpper(a("backend-protocol"))
	if proto != "HTTPS" && proto != "GRPCS" {
		return
	}
	field := func(k string) string { return "metadata.annotations." + prefix + k }
	secret := a("proxy-ssl-secret")
	if ns, name, ok := strings.Cut(secret, "/"); ok {
		if ns != ing.Namespace {
			*notes = append(*notes, c.diag(ing, field("proxy-ssl-secret"), "a Secret in another namespace is refused (moat answers 503); no BackendTLSPolicy is written"))
			return
		}
		secret = name
	}
	if a("proxy-ssl-verify") != "on" || secret == "" {
		*notes = append(*notes, c.diag(ing, field("backend-protocol"), "%s without proxy-ssl-verify: on and proxy-ssl-secret is TLS without verification, which Gateway API cannot express; the backend is spoken to in clear text", proto))
		return
	}
	if sec, ok := c.secrets[ing.Namespace+"/"+secret]; ok {
		if len(sec.Data["ca.crt"]) == 0 && sec.StringData["ca.crt"] == "" {
			*notes = append(*notes, c.diag(ing, field("proxy-ssl-secret"), "Secret %s has no ca.crt, so nothing was verified; no BackendTLSPolicy is written and the backend is spoken to in clear text", secret))
			return
		}
		if len(sec.Data[corev1.TLSCertKey]) > 0 || sec.StringData[corev1.TLSCertKey] != "" {
			*notes = append(*notes, c.diag(ing, field("proxy-ssl-secret"), "the client certificate of Secret %s is not presented: Gateway API sets it per Gateway (spec.tls.backend.clientCertificateRef)", secret))
		}
	} else {
		*notes = append(*notes, c.diag(ing, field("proxy-ssl-secret"), "Secret %s is not in the input: its ca.crt is assumed; a client certificate in it would not be presented", secret))
	}
	if a("proxy-ssl-server-name") != "on" {
		*notes = append(*notes, c.diag(ing, field("proxy-ssl-server-name"), "a BackendTLSPolicy always sends its hostname as SNI; ingress-nginx sent none"))
	}
	var svcs []string
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil && !contains(svcs, b.Service.Name) {
			svcs = append(svcs, b.Service.Name)
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, r := range ing.Spec.Rules {
		if r.HTTP != nil {
			for i := range r.HTTP.Paths {
				add(&r.HTTP.Paths[i].Backend)
			}
		}
	}
	for _, svc := range svcs {
		host := a("proxy-ssl-name")
		if host == "" {
			host = svc + "." + ing.Namespace + ".svc"
		}
		key := ing.Namespace + "/" + svc
		if old := c.policies[key]; old != nil {
			if old.Spec.Validation.Hostname != gwv1.PreciseHostname(host) || old.Spec.Validation.CACertificateRefs[0].Name != gwv1.ObjectName(secret) {
				*notes = append(*notes, c.diag(ing, field("proxy-ssl-secret"), "Service %s already has a BackendTLSPolicy from another Ingress with other settings; a policy applies to the whole Service, so the first is kept", svc))
			}
			continue
		}
		p := &gwv1.BackendTLSPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "BackendTLSPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ing.Namespace},
			Spec: gwv1.BackendTLSPolicySpec{
				TargetRefs: []gwv1.LocalPolicyTargetReferenceWithSectionName{{LocalPolicyTargetReference: gwv1.LocalPolicyTargetReference{
					Group: "", Kind: "Service", Name: gwv1.ObjectName(svc)}}},
				Validation: gwv1.BackendTLSPolicyValidation{
					CACertificateRefs: []gwv1.LocalObjectReference{{Group: "", Kind: "Secret", Name: gwv1.ObjectName(secret)}},
					Hostname:          gwv1.PreciseHostname(host)},
			}}
		c.policies[key] = p
		c.policyOrder = append(c.policyOrder, key)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
