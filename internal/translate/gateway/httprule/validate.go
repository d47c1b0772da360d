package httprule

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
	"k8s.io/apimachinery/pkg/util/validation"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The CRDs' schema and CEL rules refuse these values in a cluster; file
// mode has no API server, so a rule carrying one is dropped here instead
// of reaching the data plane, which would refuse the whole configuration.

// CheckFilters returns why a rule's filters cannot be served ("" if they
// can), and the field.
func CheckFilters(rule *gatewayv1.HTTPRouteRule, field string) (string, string) {
	for fi, f := range rule.Filters {
		ff := fmt.Sprintf("%s.filters[%d]", field, fi)
		for _, m := range []*gatewayv1.HTTPHeaderFilter{f.RequestHeaderModifier, f.ResponseHeaderModifier} {
			if m == nil {
				continue
			}
			for _, h := range slices.Concat(m.Set, m.Add) {
				if !httpguts.ValidHeaderFieldName(string(h.Name)) {
					return fmt.Sprintf("header name %q is not a valid HTTP header name", h.Name), ff
				}
				if !httpguts.ValidHeaderFieldValue(h.Value) {
					return fmt.Sprintf("header %s value %q has characters HTTP does not allow", h.Name, h.Value), ff
				}
			}
			for _, n := range m.Remove {
				if !httpguts.ValidHeaderFieldName(n) {
					return fmt.Sprintf("header name %q is not a valid HTTP header name", n), ff
				}
			}
		}
		if r := f.RequestRedirect; r != nil {
			if r.StatusCode != nil && !slices.Contains([]int{301, 302, 303, 307, 308}, *r.StatusCode) {
				return fmt.Sprintf("redirect statusCode %d is not one of 301, 302, 303, 307, 308", *r.StatusCode), ff + ".requestRedirect.statusCode"
			}
			if r.Scheme != nil && *r.Scheme != "http" && *r.Scheme != "https" {
				return fmt.Sprintf("redirect scheme %q is not http or https", *r.Scheme), ff + ".requestRedirect.scheme"
			}
			if r.Port != nil && (*r.Port < 1 || *r.Port > 65535) {
				return fmt.Sprintf("redirect port %d is out of range", *r.Port), ff + ".requestRedirect.port"
			}
			if msg := checkHostname(r.Hostname); msg != "" {
				return msg, ff + ".requestRedirect.hostname"
			}
			if msg := checkPath(r.Path); msg != "" {
				return msg, ff + ".requestRedirect.path"
			}
		}
		if rw := f.URLRewrite; rw != nil {
			if msg := checkHostname(rw.Hostname); msg != "" {
				return msg, ff + ".urlRewrite.hostname"
			}
			if msg := checkPath(rw.Path); msg != "" {
				return msg, ff + ".urlRewrite.path"
			}
		}
	}
	for bi, br := range rule.BackendRefs {
		if br.Weight != nil && (*br.Weight < 0 || *br.Weight > 1000000) {
			return fmt.Sprintf("weight %d is not between 0 and 1000000", *br.Weight), fmt.Sprintf("%s.backendRefs[%d].weight", field, bi)
		}
	}
	return "", ""
}

func checkHostname(h *gatewayv1.PreciseHostname) string {
	if h == nil {
		return ""
	}
	if errs := validation.IsDNS1123Subdomain(string(*h)); len(errs) > 0 {
		return fmt.Sprintf("hostname %q is not a DNS name: %s", *h, strings.Join(errs, "; "))
	}
	return ""
}

func checkPath(p *gatewayv1.HTTPPathModifier) string {
	if p == nil {
		return ""
	}
	for _, v := range []*string{p.ReplaceFullPath, p.ReplacePrefixMatch} {
		if v == nil {
			continue
		}
		if !strings.HasPrefix(*v, "/") {
			return fmt.Sprintf("path %q does not start with /", *v)
		}
		if strings.IndexFunc(*v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return fmt.Sprintf("path %q has spaces or control characters", *v)
		}
	}
	return ""
}
