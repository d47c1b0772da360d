package listener

import (
	"reflect"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Listener and route hostname intersection (Gateway API's
// HTTPRouteHostnameIntersection cases).
func TestIntersect(t *testing.T) {
	for _, c := range []struct {
		listener string
		route    []gatewayv1.Hostname
		want     []string
	}{
		{"", nil, []string{""}},
		{"a.example.com", nil, []string{"a.example.com"}},
		{"", []gatewayv1.Hostname{"X.example.com"}, []string{"x.example.com"}},
		{"*.example.com", []gatewayv1.Hostname{"a.example.com", "a.other.org", "example.com"}, []string{"a.example.com"}},
		{"a.example.com", []gatewayv1.Hostname{"*.example.com"}, []string{"a.example.com"}},
		{"*.example.com", []gatewayv1.Hostname{"*.a.example.com"}, []string{"*.a.example.com"}},
		{"*.a.example.com", []gatewayv1.Hostname{"*.example.com"}, []string{"*.a.example.com"}},
		{"a.example.com", []gatewayv1.Hostname{"b.example.com"}, nil},
	} {
		got, ok := Intersect(c.listener, c.route)
		if !reflect.DeepEqual(got, c.want) || ok != (len(c.want) > 0) {
			t.Errorf("intersect(%q, %q) = %q, %v; want %q", c.listener, c.route, got, ok, c.want)
		}
	}
}
