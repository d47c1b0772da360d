package policy

import (
	"fmt"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/authexternal"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
	"github.com/moat-ingress/moat/internal/translate/core"
	networkingv1 "k8s.io/api/networking/v1"
)

// proxySSLSecretDenied is ingress-nginx's proxyssl parser: a
// proxy-ssl-secret that is malformed, in another namespace, missing or
// without tls.crt/tls.key or ca.crt makes it return LocationDenied, so
// the Ingress's paths answer 503, whatever the backend protocol.
func (t *Extractor) proxySSLSecretDenied(r *annotations.Reader, ing *networkingv1.Ingress) string {
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
	switch sec, ok := t.Snapshot.Secrets[ref]; {
	case ns != ing.Namespace:
		t.AnnDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretCrossNamespace",
			fmt.Sprintf("proxy-ssl-secret %s is in another namespace; an Ingress may only use Secrets of its own namespace (%s): the paths are denied (503), as in ingress-nginx", ref, ing.Namespace))
		return "proxy-ssl-secret in another namespace"
	case !ok:
		t.AnnDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretNotFound",
			fmt.Sprintf("proxy-ssl-secret %s not found: the paths are denied (503) until it exists, as in ingress-nginx", ref))
		return "proxy-ssl-secret not found"
	case len(sec.Data["tls.crt"]) == 0 && len(sec.Data["tls.key"]) == 0 && len(sec.Data["ca.crt"]) == 0:
		t.AnnDiag(r, "proxy-ssl-secret", diag.Error, "ProxySSLSecretInvalid",
			fmt.Sprintf("secret %s has neither tls.crt/tls.key nor ca.crt: the paths are denied (503), as in ingress-nginx", ref))
		return "proxy-ssl-secret unusable"
	}
	return ""
}

func (t *Extractor) externalAuth(r *annotations.Reader, ing *networkingv1.Ingress, deny func(string)) *routecfg.ExternalAuth {
	c := authexternal.Parse(r)
	s := c.Settings
	global := false
	if s.URL == "" {
		g := t.Ctrl.GlobalAuth
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
			t.Add(diag.Diagnostic{Object: diag.ObjectRef{Kind: "ConfigMap", Name: t.Opts.ConfigMap}, Severity: diag.Error, Reason: "ConfigMapInvalidValue",
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
		if key, ok := t.SameNamespace(r, ing, "auth-proxy-set-headers", c.ProxySetHeaders, "ConfigMap"); ok {
			cm, found := t.Snapshot.ConfigMaps[key]
			if !found {
				t.AnnDiag(r, "auth-proxy-set-headers", diag.Error, "ConfigMapNotFound", fmt.Sprintf("ConfigMap %s not found; no headers are added to the auth request", key))
			} else {
				for _, name := range core.SortedKeys(cm.Data) {
					v := cm.Data[name]
					tv, err := annotations.ParseTemplate(v)
					if !nginx.ValidHeaderName(name) || err != nil || !annotations.ValidHeaderValue(v) {
						t.AnnDiag(r, "auth-proxy-set-headers", diag.Error, "AnnotationInvalidValue", fmt.Sprintf("ConfigMap %s entry %q: %q is not a header name and value moat can send; skipped", key, name, v))
						continue
					}
					a.SetHeaders = append(a.SetHeaders, vartemplate.Header{Name: name, Value: tv})
				}
			}
		}
	}
	return a
}
