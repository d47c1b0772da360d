package translate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// chainCert is a certificate of a test chain and its key.
type chainCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func issue(t *testing.T, parent *chainCert, cn string, ca bool, key crypto.Signer, alg x509.SignatureAlgorithm) *chainCert {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		SignatureAlgorithm: alg}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	} else {
		tmpl.DNSNames = []string{cn}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &chainCert{c, key}
}

func secretYAML(t *testing.T, name string, key crypto.Signer, certs ...*chainCert) string {
	t.Helper()
	var crt []byte
	for _, c := range certs {
		crt = append(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: shop}\ntype: kubernetes.io/tls\ndata: {tls.crt: %s, tls.key: %s}\n",
		name, base64.StdEncoding.EncodeToString(crt), base64.StdEncoding.EncodeToString(k))
}

// TestCertificateHealth covers the checks of cert_health.go: chain order,
// weak keys and signatures, and the reason given for a key pair that
// does not load.
func TestCertificateHealth(t *testing.T) {
	root := issue(t, nil, "root", true, nil, 0)
	inter := issue(t, root, "intermediate", true, nil, 0)
	leaf := issue(t, inter, "shop.example.com", false, nil, 0)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaRoot := issue(t, nil, "rsa root", true, rsaKey, 0)
	other := issue(t, nil, "shop.example.com", false, nil, 0)

	cases := []struct {
		name   string
		secret string
		want   string // "severity Reason object field" or "" for none
		msg    string
	}{
		{"good chain", secretYAML(t, "s", leaf.key, leaf, inter), "", ""},
		{"good chain with root", secretYAML(t, "s", leaf.key, leaf, inter, root), "", ""},
		{"intermediates out of order", secretYAML(t, "s", leaf.key, leaf, root, inter),
			"warning TLSCertificateChainOrder secret shop/s data.tls.crt", `followed by certificate 2 ("root"), which did not issue it`},
		{"leaf not first", secretYAML(t, "s", leaf.key, inter, leaf),
			"error TLSCertificateChainOrder ingress shop/web spec.tls[0].secretName", "belongs to certificate 2"},
		{"key of another certificate", secretYAML(t, "s", other.key, leaf, inter),
			"error TLSKeyMismatch ingress shop/web spec.tls[0].secretName", "not the private key"},
		{"weak RSA key", func() string {
			c := issue(t, nil, "shop.example.com", false, rsa1024, 0)
			return secretYAML(t, "s", c.key, c)
		}(), "warning TLSCertificateWeakKey secret shop/s data.tls.crt", "1024-bit RSA key"},
		{"SHA-1 signature", func() string {
			c := issue(t, rsaRoot, "shop.example.com", false, nil, x509.SHA1WithRSA)
			return secretYAML(t, "s", c.key, c)
		}(), "warning TLSCertificateWeakSignature secret shop/s data.tls.crt", "SHA1-RSA"},
		{"certificate encoded twice", doubleEncoded(t, leaf),
			"error TLSSecretInvalid ingress shop/web spec.tls[0].secretName", "decode it once"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := tc.secret + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls: [{hosts: [shop.example.com], secretName: s}]
  rules: [{host: shop.example.com}]
`
			objs, diags := k8s.Decode([]byte(input), "in.yaml")
			_, diags = Translate(store.FromObjects(objs, diags), Options{WatchWithoutClass: true, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
			var got []string
			found := false
			for _, d := range diags {
				line := fmt.Sprintf("%s %s %s %s", d.Severity, d.Reason, d.Object, d.Field)
				got = append(got, line+": "+d.Message+" | "+d.Hint)
				if line == tc.want && strings.Contains(d.Message+d.Hint, tc.msg) {
					found = true
				}
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Errorf("want no diagnostics, got:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			if !found {
				t.Errorf("want %q mentioning %q, got:\n%s", tc.want, tc.msg, strings.Join(got, "\n"))
			}
		})
	}
}

// doubleEncoded is a Secret whose tls.crt holds base64 text instead of
// PEM: what `cat cert.crt | base64` pasted under stringData gives.
func doubleEncoded(t *testing.T, c *chainCert) string {
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
	kd, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ntype: kubernetes.io/tls\nstringData: {tls.crt: %s, tls.key: %q}\n",
		base64.StdEncoding.EncodeToString(crt), k)
}
