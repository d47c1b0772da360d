package httprule

import (
	"fmt"
	"regexp"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// MethodPath is the path match of a gRPC method match (nil: any), or why
// it cannot be served.
func MethodPath(m *gatewayv1.GRPCMethodMatch) (*gatewayv1.HTTPPathMatch, string) {
	if m == nil || (m.Service == nil || *m.Service == "") && (m.Method == nil || *m.Method == "") {
		return nil, ""
	}
	svc, meth := "", ""
	if m.Service != nil {
		svc = *m.Service
	}
	if m.Method != nil {
		meth = *m.Method
	}
	path := func(typ gatewayv1.PathMatchType, v string) *gatewayv1.HTTPPathMatch {
		return &gatewayv1.HTTPPathMatch{Type: &typ, Value: &v}
	}
	if m.Type != nil && *m.Type == gatewayv1.GRPCMethodMatchRegularExpression {
		for _, x := range []struct{ what, v string }{{"service", svc}, {"method", meth}} {
			if _, err := regexp.Compile(x.v); err != nil {
				return nil, fmt.Sprintf("%s %q is not a valid regular expression: %v", x.what, x.v, err)
			}
		}
		return path(gatewayv1.PathMatchRegularExpression, "/"+group(svc, `[^/]+`)+"/"+group(meth, `[^/]+`)), ""
	}
	for _, x := range []struct {
		what, v string
		re      *regexp.Regexp
	}{{"service", svc, validService}, {"method", meth, validMethod}} {
		if x.v != "" && !x.re.MatchString(x.v) {
			return nil, fmt.Sprintf("%s %q is not a gRPC %s name", x.what, x.v, x.what)
		}
	}
	switch {
	case svc != "" && meth != "":
		return path(gatewayv1.PathMatchExact, "/"+svc+"/"+meth), ""
	case svc != "":
		return path(gatewayv1.PathMatchPathPrefix, "/"+svc), ""
	}
	return path(gatewayv1.PathMatchRegularExpression, `/[^/]+/`+regexp.QuoteMeta(meth)), ""
}

// validService and validMethod are what the GRPCRoute CRD allows for an
// Exact match (file mode has no API server to refuse the rest); both are
// read-only once compiled.
var (
	validService = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$`)
	validMethod  = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

func group(re, any string) string {
	if re == "" {
		return any
	}
	return "(?:" + re + ")"
}
