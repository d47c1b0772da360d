package translate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/headers"
	"github.com/moat-ingress/moat/internal/annotations/snippet"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
	networkingv1 "k8s.io/api/networking/v1"
)

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
