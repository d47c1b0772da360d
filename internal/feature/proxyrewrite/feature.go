package proxyrewrite

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is proxy-redirect-*'s and proxy-cookie-*'s entry in
// feature/all.
var Feature = feature.Feature{Name: "proxyrewrite", Keys: Keys, Build: build}

// build takes the controller ConfigMap's proxy-cookie-domain and
// proxy-cookie-path where the Ingress sets none, as ingress-nginx.
// controllerconfig reports a bad ConfigMap value; here it reads as "off",
// the default it falls back to.
func build(env feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) {
	domain, _ := ParseCookieDefault(orOff(env.Setting("proxy-cookie-domain")), true)
	path, _ := ParseCookieDefault(orOff(env.Setting("proxy-cookie-path")), false)
	p.ProxyRewrite = ParseDefaults(r, domain, path)
}

func orOff(v string) string {
	if v == "" {
		return "off"
	}
	return v
}
