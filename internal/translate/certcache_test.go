package translate

import (
	"encoding/base64"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/store"
)

// TestCertCacheForgetsRotatedCertificates: a long-running controller
// translates again and again while certificates rotate; the cache keeps
// only what the last translates used, and a rotated Secret is served with
// its new pair.
func TestCertCacheForgetsRotatedCertificates(t *testing.T) {
	gen := newCertGen(t)
	cache := NewCertCache()
	opts := Options{IngressClass: "moat", WatchWithoutClass: true, Certs: cache}
	snapshot := func(names string) *store.Snapshot {
		p := gen.pair(t, names, false)
		crt, _ := base64.StdEncoding.DecodeString(p[0])
		key, _ := base64.StdEncoding.DecodeString(p[1])
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "site"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
			Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}, SecretName: "site"}},
				Rules: []networkingv1.IngressRule{{Host: "a.example.com"}}}}
		return store.FromObjects([]store.Object{{Obj: sec}, {Obj: ing}}, nil)
	}
	// Each rotation is a new pair for the same names (certGen keys pairs
	// by their names, so vary them).
	rotations := []string{"a.example.com", "a.example.com,v2.example.com", "a.example.com,v3.example.com", "a.example.com,v4.example.com"}
	for i, names := range rotations {
		sn := snapshot(names)
		for range 3 { // several passes per rotation, as a controller makes
			cfg, _ := Translate(sn, opts)
			c := cfg.Certificates["ns/site"]
			if c == nil || len(c.Cert.Leaf.DNSNames) != len(splitNames(names)) {
				t.Fatalf("rotation %d: served %v, want the pair for %s", i, c, names)
			}
		}
		n, s, f := cache.Sizes()
		if n != 1 || s != 1 || f != 1 {
			t.Errorf("rotation %d: cache holds %d key pairs, %d Secrets, %d findings; want 1 each", i, n, s, f)
		}
	}
}

func splitNames(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
