package upstream

import (
	"crypto/x509"
	"net/url"
	"testing"
)

// subjectAltNames: a DNS SAN asked for matches the certificate's names
// (its wildcard included), a wildcard asked for must be in the
// certificate as written, a URI must be equal; none set accepts.
func TestMatchSANs(t *testing.T) {
	u, _ := url.Parse("spiffe://cluster.local/ns/a/sa/web")
	leaf := &x509.Certificate{DNSNames: []string{"web.internal", "*.apps.internal"}, URIs: []*url.URL{u}}
	for _, tc := range []struct {
		dns, uris []string
		ok        bool
	}{
		{nil, nil, true},
		{[]string{"web.internal"}, nil, true},
		{[]string{"other.internal", "WEB.internal"}, nil, true},
		{[]string{"x.apps.internal"}, nil, true},
		{[]string{"x.y.apps.internal"}, nil, false},
		{[]string{"*.apps.internal"}, nil, true},
		{[]string{"*.internal"}, nil, false},
		{nil, []string{"spiffe://cluster.local/ns/a/sa/web"}, true},
		{nil, []string{"spiffe://cluster.local/ns/a/sa/other"}, false},
		{[]string{"nope.internal"}, []string{"spiffe://cluster.local/ns/a/sa/web"}, true},
	} {
		if err := matchSANs(leaf, tc.dns, tc.uris); (err == nil) != tc.ok {
			t.Errorf("dns %v uris %v: %v, want ok=%v", tc.dns, tc.uris, err, tc.ok)
		}
	}
}
