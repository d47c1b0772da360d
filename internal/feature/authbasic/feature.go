package authbasic

import (
	"fmt"
	"sort"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is auth-type basic's entry in feature/all.
var Feature = feature.Feature{Name: "authbasic", Keys: Keys, Build: build}

// build loads auth-secret; a Secret that cannot be used denies the
// Ingress's paths (503), as ingress-nginx's location denied.
func build(env feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) {
	p.BasicAuth = basicAuth(env, r)
}

func basicAuth(env feature.Env, r *annotations.Reader) *routecfg.BasicAuth {
	c := Parse(r)
	if !c.Enabled {
		return nil
	}
	if c.Denied != "" {
		env.Deny(c.Denied)
		return nil
	}
	ref := c.Name
	if c.Namespace != "" {
		ref = c.Namespace + "/" + c.Name
	}
	key, ok := env.Ref(r, "auth-secret", ref, "Secret")
	if !ok {
		env.Deny("auth-secret in another namespace")
		return nil
	}
	data, ok := env.Secret(key)
	if !ok {
		feature.Report(r, "auth-secret", diag.Error, "AuthSecretNotFound", fmt.Sprintf("secret %s not found: the paths are denied (503) until it exists", key))
		env.Deny("auth-secret not found")
		return nil
	}
	users := map[string]string{}
	var bad []string
	if c.Map {
		for u, h := range data {
			if err := CheckHash(string(h)); err != nil {
				bad = append(bad, fmt.Sprintf("user %q: %v", u, err))
				continue
			}
			users[u] = string(h)
		}
	} else {
		auth, ok := data["auth"]
		if !ok {
			feature.Report(r, "auth-secret", diag.Error, "AuthSecretInvalid", fmt.Sprintf("secret %s has no key \"auth\" (htpasswd lines): the paths are denied (503)", key))
			env.Deny("auth-secret without auth")
			return nil
		}
		users, bad = ParseFile(string(auth))
	}
	sort.Strings(bad)
	for _, b := range bad {
		feature.Report(r, "auth-secret", diag.Error, "AuthSecretInvalid", fmt.Sprintf("secret %s: %s; that user cannot log in", key, b))
	}
	return &routecfg.BasicAuth{Realm: c.Realm, Users: users}
}
