package translate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/store"
)

// BenchmarkUpdateIngressesTLS is BenchmarkUpdateIngresses with half the
// Ingresses (and the changed one) serving TLS from their own Secret, whose
// certificate expires within the warning window: 5,000 certificates and
// as many diagnostics at 10,000, as bench/scale generates them.
func BenchmarkUpdateIngressesTLS(b *testing.B) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	crt, key := benchPair(b, now.Add(7*24*time.Hour))
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n)+"-ingresses", func(b *testing.B) {
			objs := benchObjects(n, 10)
			var ings []*networkingv1.Ingress
			for _, o := range objs {
				if ing, ok := o.Obj.(*networkingv1.Ingress); ok {
					ings = append(ings, ing)
				}
			}
			tlsIng := func(ing *networkingv1.Ingress) {
				ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{ing.Spec.Rules[0].Host}, SecretName: ing.Name + "-tls"}}
			}
			for i, ing := range ings {
				if i%2 == 1 && i != len(ings)-1 {
					continue
				}
				tlsIng(ing)
				objs = append(objs, store.Object{Obj: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ing.Namespace, Name: ing.Name + "-tls"},
					Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}})
			}
			st := store.New()
			st.Replace(objs, nil)
			opts := Options{IngressClass: "moat", WatchWithoutClass: true, Certs: NewCertCache(), Now: now}
			sn, _ := st.SnapshotChanges()
			cfg, diags, inc := TranslateIncremental(sn, opts)
			want := len(diags)
			probe := ings[len(ings)-1]
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				i++
				ing := probe.DeepCopy()
				ing.Spec.Rules[0].Host = "probe-" + strconv.Itoa(i) + ".example.com"
				tlsIng(ing)
				st.Upsert(store.Object{Obj: ing})
				sn, ch := st.SnapshotChanges()
				next, diags, ok := UpdateIngresses(inc, cfg, sn, ch, opts)
				if !ok || len(next.VirtualHosts) != n || len(diags) != want {
					b.Fatalf("ok %v, %d hosts, %d diagnostics (want %d)", ok, len(next.VirtualHosts), len(diags), want)
				}
				cfg = next
			}
		})
	}
}

// benchPair is a self-signed ECDSA certificate for *.example.com valid
// until notAfter, and its key, in PEM.
func benchPair(b *testing.B, notAfter time.Time) (crt, key []byte) {
	b.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "*.example.com"}, DNSNames: []string{"*.example.com"},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		b.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}
