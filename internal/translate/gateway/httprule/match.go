package httprule

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/http/httpguts"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// Entry is one route match on one host, before ordering. Match fills
// the route and its precedence keys; the caller places it (Host, Kind,
// RuleIndex, MatchIndex).
type Entry struct {
	Host       string
	Route      *routecfg.Route
	HR         *gatewayv1.HTTPRoute
	Kind       string // HTTPRoute or GRPCRoute
	RuleIndex  int
	MatchIndex int
	exact      bool
	regex      bool
	pathLen    int
	method     bool
	headers    int
	query      int
}

// Match builds the route of one match (without backends and filters).
func Match(hr *gatewayv1.HTTPRoute, m *gatewayv1.HTTPRouteMatch, field string, problem func(string, string, string)) *Entry {
	if problem == nil {
		problem = func(string, string, string) {}
	}
	rt := &routecfg.Route{Path: "/", Match: routecfg.MatchPrefix, Conditions: &routecfg.Conditions{},
		Source: routecfg.Source{Namespace: hr.Namespace, Ingress: hr.Name}}
	e := &Entry{Route: rt, HR: hr}
	if p := m.Path; p != nil {
		v := "/"
		if p.Value != nil {
			v = *p.Value
		}
		typ := gatewayv1.PathMatchPathPrefix
		if p.Type != nil {
			typ = *p.Type
		}
		switch typ {
		case gatewayv1.PathMatchExact:
			rt.Path, rt.Match, e.exact = v, routecfg.MatchExact, true
		case gatewayv1.PathMatchPathPrefix:
			rt.Path = strings.TrimRight(v, "/")
			if rt.Path == "" {
				rt.Path = "/"
			}
		case gatewayv1.PathMatchRegularExpression:
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				problem("UnsupportedValue", fmt.Sprintf("path %q is not a valid regular expression: %v", v, err), field+".path.value")
				return nil
			}
			rt.Path, rt.Match, rt.Regex, e.regex = v, routecfg.MatchRegex, re, true
		default:
			problem("UnsupportedValue", fmt.Sprintf("path match type %s is not supported", typ), field+".path.type")
			return nil
		}
	}
	e.pathLen = len(rt.Path)
	if m.Method != nil {
		rt.Conditions.Method, e.method = string(*m.Method), true
	}
	for i, h := range m.Headers {
		if !httpguts.ValidHeaderFieldName(string(h.Name)) {
			problem("UnsupportedValue", fmt.Sprintf("header name %q is not a valid HTTP header name", h.Name), fmt.Sprintf("%s.headers[%d].name", field, i))
			return nil
		}
		vm := routecfg.ValueMatch{Name: canonical(string(h.Name)), Value: h.Value}
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			re, err := regexp.Compile(h.Value)
			if err != nil {
				problem("UnsupportedValue", fmt.Sprintf("header match %q is not a valid regular expression: %v", h.Value, err), fmt.Sprintf("%s.headers[%d].value", field, i))
				return nil
			}
			vm.Regex = re
		}
		rt.Conditions.Headers = append(rt.Conditions.Headers, vm)
	}
	for i, q := range m.QueryParams {
		vm := routecfg.ValueMatch{Name: string(q.Name), Value: q.Value}
		if q.Type != nil && *q.Type == gatewayv1.QueryParamMatchRegularExpression {
			re, err := regexp.Compile(q.Value)
			if err != nil {
				problem("UnsupportedValue", fmt.Sprintf("query match %q is not a valid regular expression: %v", q.Value, err), fmt.Sprintf("%s.queryParams[%d].value", field, i))
				return nil
			}
			vm.Regex = re
		}
		rt.Conditions.Query = append(rt.Conditions.Query, vm)
	}
	e.headers, e.query = len(m.Headers), len(m.QueryParams)
	return e
}

// canonical is the canonical form of a header name (net/http's), written
// here so the package does not import net/http for one function.
func canonical(s string) string {
	b := []byte(strings.ToLower(s))
	up := true
	for i, c := range b {
		if up && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

// SortEntries orders es by Gateway API precedence: Exact before the
// longest prefix (regex last), then method, more headers, more query
// parameters, the oldest route, namespace/name, rule and match order.
func SortEntries(es []*Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.exact != b.exact {
			return a.exact
		}
		if a.regex != b.regex {
			return !a.regex
		}
		if a.pathLen != b.pathLen {
			return a.pathLen > b.pathLen
		}
		if a.method != b.method {
			return a.method
		}
		if a.headers != b.headers {
			return a.headers > b.headers
		}
		if a.query != b.query {
			return a.query > b.query
		}
		if a.HR != b.HR {
			if !a.HR.CreationTimestamp.Equal(&b.HR.CreationTimestamp) {
				return a.HR.CreationTimestamp.Before(&b.HR.CreationTimestamp)
			}
			if a.HR.Namespace != b.HR.Namespace {
				return a.HR.Namespace < b.HR.Namespace
			}
			return a.HR.Name < b.HR.Name
		}
		if a.RuleIndex != b.RuleIndex {
			return a.RuleIndex < b.RuleIndex
		}
		return a.MatchIndex < b.MatchIndex
	})
}

// Redirect maps a RequestRedirect filter onto routecfg.URLRedirect.
func Redirect(r *gatewayv1.HTTPRequestRedirectFilter) *routecfg.URLRedirect {
	rd := &routecfg.URLRedirect{Code: 302}
	if r.StatusCode != nil {
		rd.Code = *r.StatusCode
	}
	if r.Scheme != nil {
		rd.Scheme = *r.Scheme
	}
	if r.Hostname != nil {
		rd.Host = string(*r.Hostname)
	}
	if r.Port != nil {
		rd.Port = int(*r.Port)
	}
	if p := r.Path; p != nil {
		switch p.Type {
		case gatewayv1.FullPathHTTPPathModifier:
			if p.ReplaceFullPath != nil {
				rd.Path = &routecfg.PathModifier{Value: *p.ReplaceFullPath}
			}
		case gatewayv1.PrefixMatchHTTPPathModifier:
			if p.ReplacePrefixMatch != nil {
				rd.Path = &routecfg.PathModifier{Prefix: true, Value: *p.ReplacePrefixMatch}
			}
		}
	}
	return rd
}
