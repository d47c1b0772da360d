package translate

import (
	"fmt"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/authexternal"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
	networkingv1 "k8s.io/api/networking/v1"
)

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
					a.SetHeaders = append(a.SetHeaders, vartemplate.Header{Name: name, Value: tv})
				}
			}
		}
	}
	return a
}
