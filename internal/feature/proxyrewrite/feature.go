package proxyrewrite

import (
	"fmt"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is proxy-redirect-*'s and proxy-cookie-*'s entry in
// feature/all.
var Feature = feature.Feature{Name: "proxyrewrite", Keys: Keys, Build: build, Settings: []feature.Setting{
	{Name: "proxy-redirect-from", Default: "off", Check: checkRedirect(true),
		Doc: "Default of the proxy-redirect-from annotation, for Ingresses that do not set it: `off`, `default` or the text an upstream Location (or Refresh url=) starts with (`~regex`: a matching value). It rewrites only together with a proxy-redirect-to (annotation or key)."},
	{Name: "proxy-redirect-to", Default: "off", Check: checkRedirect(false),
		Doc: "Default of the proxy-redirect-to annotation, for Ingresses that do not set it: the replacement for proxy-redirect-from, or `off`."},
}}

// build takes the controller ConfigMap's proxy-cookie-domain and
// proxy-cookie-path where the Ingress sets none, as ingress-nginx.
// controllerconfig reports a bad ConfigMap value; here it reads as "off",
// the default it falls back to.
func build(env feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) {
	domain, _ := ParseCookieDefault(orOff(env.Setting("proxy-cookie-domain")), true)
	path, _ := ParseCookieDefault(orOff(env.Setting("proxy-cookie-path")), false)
	p.ProxyRewrite = parseDefaults(r, domain, path, orOff(env.Setting("proxy-redirect-from")), orOff(env.Setting("proxy-redirect-to")))
}

// checkRedirect applies the annotation's rules to a ConfigMap value: one
// word of ingress-nginx's URL characters, a valid ~regex for from.
func checkRedirect(from bool) func(string) error {
	return func(v string) error {
		switch {
		case v == "off" || from && v == "default":
			return nil
		case !urlChars.MatchString(v):
			return fmt.Errorf("characters outside what ingress-nginx accepts (letters, digits, - . _ ~ / : ? & =; no variables or spaces)")
		case v == "":
			return fmt.Errorf(`expected "off" or one word`)
		}
		if from {
			if _, err := rewrite(v, "", false); err != nil {
				return err
			}
		}
		return nil
	}
}

func orOff(v string) string {
	if v == "" {
		return "off"
	}
	return v
}
