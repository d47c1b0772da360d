package httprule

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gRPC method matches as paths.
func TestMethodPath(t *testing.T) {
	s := func(v string) *string { return &v }
	re := gatewayv1.GRPCMethodMatchRegularExpression
	for _, c := range []struct {
		m    *gatewayv1.GRPCMethodMatch
		want string
	}{
		{nil, "<nil>"},
		{&gatewayv1.GRPCMethodMatch{Service: s("pkg.Svc"), Method: s("Get")}, "Exact /pkg.Svc/Get"},
		{&gatewayv1.GRPCMethodMatch{Service: s("pkg.Svc")}, "PathPrefix /pkg.Svc"},
		{&gatewayv1.GRPCMethodMatch{Method: s("Get")}, "RegularExpression /[^/]+/Get"},
		{&gatewayv1.GRPCMethodMatch{Type: &re, Service: s("a|b")}, "RegularExpression /(?:a|b)/[^/]+"},
		{&gatewayv1.GRPCMethodMatch{Type: &re, Method: s("(")}, "error"},
		{&gatewayv1.GRPCMethodMatch{Service: s("pkg/Svc")}, "error"},
		{&gatewayv1.GRPCMethodMatch{Method: s("a.b")}, "error"},
	} {
		p, err := MethodPath(c.m)
		got := "<nil>"
		switch {
		case err != "":
			got = "error"
		case p != nil:
			got = string(*p.Type) + " " + *p.Value
		}
		if got != c.want {
			t.Errorf("methodPath(%+v) = %q (%s), want %q", c.m, got, err, c.want)
		}
	}
}
