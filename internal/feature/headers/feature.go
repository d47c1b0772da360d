package headers

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/snippet"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/feature"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Feature is the header annotations' entry in feature/all.
var Feature = feature.Feature{Name: "headers", Keys: Keys, Build: build}

// build reads the header annotations, the custom-headers ConfigMap and
// the literal subset of configuration-snippet; a refused snippet denies
// the paths (503), since it may have carried access control.
func build(env feature.Env, r *annotations.Reader, p *routecfg.RoutePolicy) {
	p.Headers = headers(env, r)
}

func headers(env feature.Env, r *annotations.Reader) *routecfg.Headers {
	c := Parse(r)
	h := &routecfg.Headers{Connection: c.Connection, HTTP10: c.HTTP10, XForwardedPrefix: c.XForwardedPrefix}
	if c.CustomHeaders != "" {
		if key, ok := env.Ref(r, "custom-headers", c.CustomHeaders, "ConfigMap"); ok {
			h.Set = append(h.Set, customHeaders(env, r, key)...)
		}
	}
	if v, ok := r.Raw("configuration-snippet"); ok {
		s, err := snippet.Parse(v, false)
		if err != nil {
			feature.Report(r, "configuration-snippet", diag.Error, "SnippetRefused",
				fmt.Sprintf("configuration-snippet is refused: %v; none of it is applied and the paths are denied (503), since it may have carried access control", err))
			env.Deny("configuration-snippet refused")
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
func customHeaders(env feature.Env, r *annotations.Reader, key string) []routecfg.Header {
	data, ok := env.ConfigMap(key)
	if !ok {
		feature.Report(r, "custom-headers", diag.Error, "ConfigMapNotFound", fmt.Sprintf("ConfigMap %s not found; no headers are added", key))
		return nil
	}
	var out []routecfg.Header
	for _, name := range slices.Sorted(maps.Keys(data)) {
		v := data[name]
		if !nginx.ValidHeaderName(name) || !annotations.ValidHeaderValue(v) {
			feature.Report(r, "custom-headers", diag.Error, "AnnotationInvalidValue", fmt.Sprintf("ConfigMap %s entry %q: not a header name and value; the annotation is ignored", key, name))
			return nil
		}
		if !slices.ContainsFunc(nginx.SplitList(env.Setting("global-allowed-response-headers")), func(a string) bool { return strings.EqualFold(a, name) }) {
			feature.Report(r, "custom-headers", diag.Error, "CustomHeaderNotAllowed",
				fmt.Sprintf("header %q from ConfigMap %s is not in the controller ConfigMap's global-allowed-response-headers; the annotation is ignored", name, key))
			return nil
		}
		out = append(out, routecfg.Header{Name: name, Value: v})
	}
	return out
}
