package lint

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/moat-ingress/moat/internal/secrets/sops"
	"github.com/moat-ingress/moat/internal/testutil"
)

// TestPlainPrivateKey: a key in data or stringData is a warning with the
// fix, its line is not quoted, and the same Secret encrypted with sops
// is checked (with the key file) without the warning.
func TestPlainPrivateKey(t *testing.T) {
	ca := testutil.NewCA(t, "lint CA")
	crt, key, _ := ca.Issue(t, "web.test")
	dir := t.TempDir()
	plain := testutil.TLSSecretYAML("default", "web-tls", crt, key)
	stringData := "apiVersion: v1\nkind: Secret\nmetadata: {name: other}\nstringData:\n  key.pem: |\n    " +
		strings.ReplaceAll(strings.TrimSpace(string(key)), "\n", "\n    ") + "\n"
	protected := "apiVersion: v1\nkind: Secret\nmetadata: {name: protected}\nstringData:\n  key.pem: |\n    -----BEGIN ENCRYPTED PRIVATE KEY-----\n    AAAA\n    -----END ENCRYPTED PRIVATE KEY-----\n"
	if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte(plain+"---\n"+stringData+"---\n"+protected), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Run([]string{dir}, nil, Options{WatchWithoutClass: true, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range r.Diagnostics {
		if d.Reason == ReasonPlainPrivateKey {
			got = append(got, d.Object.Name+" "+d.Field)
			if d.Severity.String() != "warning" || !strings.Contains(d.Hint, "--encrypt age:") || !strings.Contains(d.Hint, "cert-manager") {
				t.Errorf("diagnostic %+v: want a warning whose hint gives the fixes", d)
			}
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "other data.key.pem,web-tls data.tls.key" {
		t.Errorf("PlainPrivateKey on %v, want web-tls tls.key and other key.pem only\n%s", got, dump(r.Diagnostics))
	}
	var out bytes.Buffer
	if err := WriteText(&out, r); err != nil {
		t.Fatal(err)
	}
	if b64 := base64.StdEncoding.EncodeToString(key); strings.Contains(out.String(), b64[:60]) || strings.Contains(out.String(), strings.Split(string(key), "\n")[1][:30]) {
		t.Errorf("lint's output quotes the key:\n%s", out.String())
	}

	// Encrypted: no warning, and the certificate is checked once decrypted.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	enc, err := sops.Encrypt([]byte(plain), []string{id.Recipient().String()}, sops.KubernetesEncryptedRegex, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	edir := t.TempDir()
	ing := "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec:\n  tls: [{hosts: [other.test], secretName: web-tls}]\n  rules: [{host: other.test}]\n"
	if err := os.WriteFile(filepath.Join(edir, "secret.yaml"), enc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(edir, "ingress.yaml"), []byte(ing), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = Run([]string{edir}, nil, Options{WatchWithoutClass: true, Now: time.Now(), SOPSAgeKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, d := range r.Diagnostics {
		reasons[d.Reason] = true
	}
	if reasons[ReasonPlainPrivateKey] || reasons["InvalidSecretData"] || !reasons["TLSCertificateHostMismatch"] {
		t.Errorf("encrypted Secret with its key: want only the certificate checked (host mismatch), got\n%s", dump(r.Diagnostics))
	}
	// Without the key file: the error serve would give.
	r, err = Run([]string{edir}, nil, Options{WatchWithoutClass: true, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if d := findDiag(r.Diagnostics, "SOPSKeyMissing", filepath.Join(edir, "secret.yaml"), 0); d == nil || d.Severity.String() != "info" {
		t.Errorf("no SOPSKeyMissing info without a key flag:\n%s", dump(r.Diagnostics))
	}
	// With a key flag naming a missing file: the error serve gives.
	r, err = Run([]string{edir}, nil, Options{WatchWithoutClass: true, Now: time.Now(), SOPSAgeKeyFile: filepath.Join(edir, "nope.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if d := findDiag(r.Diagnostics, "SOPSKeyMissing", filepath.Join(edir, "secret.yaml"), 0); d == nil || d.Severity.String() != "error" {
		t.Errorf("no SOPSKeyMissing error with a missing key file:\n%s", dump(r.Diagnostics))
	}
}
