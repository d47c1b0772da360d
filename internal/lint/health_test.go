package lint

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/lint/cluster"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// healthSecret is a self-signed certificate for host valid over
// [from, to], with key, as a kubernetes.io/tls Secret.
func healthSecret(t *testing.T, name, host string, key crypto.Signer, from, to time.Time) *corev1.Secret {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: from, NotAfter: to}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}),
		}}
}

// TestCertificateHealthSection: in the cluster report, a weak RSA key,
// an expired certificate, one expiring soon and one for another host are
// each reported once, in the one certificate-health section, and those
// about an Ingress still decide its verdict.
func TestCertificateHealthSection(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	year := 365 * 24 * time.Hour
	objs := []runtime.Object{
		healthSecret(t, "good", "good.shop.example", ec, testNow.Add(-time.Hour), testNow.Add(year)),
		healthSecret(t, "weak", "weak.shop.example", weak, testNow.Add(-time.Hour), testNow.Add(year)),
		healthSecret(t, "expired", "expired.shop.example", ec, testNow.Add(-year), testNow.Add(-time.Hour)),
		healthSecret(t, "soon", "soon.shop.example", ec, testNow.Add(-year), testNow.Add(48*time.Hour)),
		healthSecret(t, "wrong", "elsewhere.example", ec, testNow.Add(-time.Hour), testNow.Add(year)),
	}
	for _, n := range []string{"good", "weak", "expired", "soon", "wrong"} {
		host := n + ".shop.example"
		objs = append(objs, &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "shop"},
			Spec: networkingv1.IngressSpec{
				TLS:   []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: n}},
				Rules: []networkingv1.IngressRule{{Host: host}},
			},
		})
	}
	list, err := cluster.List(context.Background(), fake.NewClientset(objs...), "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	m := RunObjects(list, Options{WatchWithoutClass: true, Now: testNow}).Migration("")

	got := map[string]string{}
	for _, d := range m.CertificateHealth.Findings {
		got[d.Reason] += d.Object.Name + " "
	}
	for reason, name := range map[string]string{
		"TLSCertificateWeakKey": "weak", "TLSCertificateExpired": "expired",
		"TLSCertificateExpiringSoon": "soon", "TLSCertificateHostMismatch": "wrong",
	} {
		if got[reason] != name+" " {
			t.Errorf("%s on %q, want %s once; findings %+v", reason, got[reason], name, m.CertificateHealth.Findings)
		}
	}
	if m.CertificateHealth.TLSSecrets != 5 {
		t.Errorf("TLS Secrets counted: %d", m.CertificateHealth.TLSSecrets)
	}
	for _, rep := range m.Ingresses {
		for _, d := range append(rep.Diagnostics, m.Other...) {
			if IsCertificateHealth(d) {
				t.Errorf("%s reported outside the certificate section: %+v", d.Reason, d)
			}
		}
		// A weak key is a finding on the Secret (translate reports it
		// once per Secret), not on the Ingresses that use it.
		if want := map[bool]string{true: VerdictSupported, false: VerdictWarnings}[rep.Name == "good" || rep.Name == "weak"]; rep.Verdict != want {
			t.Errorf("ingress %s: verdict %s, want %s", rep.Name, rep.Verdict, want)
		}
	}
	var b bytes.Buffer
	if err := WriteMigrationText(&b, m); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Count(text, "certificate health") != 1 || !strings.Contains(text, "certificate health (5 TLS Secrets, ") ||
		strings.Count(text, "TLSCertificateWeakKey") != 1 || strings.Contains(text, "PRIVATE KEY") {
		t.Errorf("report:\n%s", text)
	}
}
