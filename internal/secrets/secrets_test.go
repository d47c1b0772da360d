package secrets

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/secrets/sealed"
	"github.com/moat-ingress/moat/internal/secrets/sops"
)

// TestDecryptReasons: each way a file fails to open is its own code, on
// the file (or the SealedSecret's line), and reports lost content; a
// plain file is not handled.
func TestDecryptReasons(t *testing.T) {
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	ageFile := filepath.Join(dir, "age.txt")
	os.WriteFile(ageFile, []byte(id.String()+"\n"), 0o600)
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(dir, "sealing.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	o := &Opener{AgeKeyFile: ageFile, SealingKeyFile: keyFile}

	plain := "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\nstringData: {a: b}\n"
	if _, _, handled, _ := o.Decrypt("plain.yaml", []byte(plain)); handled {
		t.Errorf("a plain file was handled")
	}
	enc, err := sops.Encrypt([]byte(plain), []string{id.Recipient().String()}, sops.KubernetesEncryptedRegex, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	objs, diags, handled, lost := o.Decrypt("enc.yaml", enc)
	if !handled || lost || len(diags) != 0 || len(objs) != 1 || string(objs[0].Obj.(*corev1.Secret).Data["a"]) != "b" {
		t.Fatalf("sops file: handled %v lost %v %v %+v", handled, lost, diags, objs)
	}
	shamir := strings.Replace(string(enc), "sops:\n", "sops:\n    key_groups: [{age: []}, {age: []}]\n", 1)

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.key": []byte("K")}}
	sealedYAML, err := sealed.Seal(sec, &k.PublicKey, sealed.Strict)
	if err != nil {
		t.Fatal(err)
	}
	templated := strings.Replace(string(sealedYAML), "    type: kubernetes.io/tls", "    type: kubernetes.io/tls\n    data: {combined: '{{ index . \"tls.key\" }}'}", 1)
	noName := strings.Replace(string(sealedYAML), "  name: web\n", "", 1)
	badB64 := "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x, namespace: ns}\nspec:\n  encryptedData: {a: '!!'}\n"

	for _, tc := range []struct {
		name, data, reason string
		lost               bool
		line               int
	}{
		{"shamir", shamir, ReasonSOPSInvalid, true, 0},
		{"not yaml sops", "sops: {mac: x, lastmodified: y}\n: :\n", "", false, 0},
		{"template", templated, ReasonSealedSecretTemplate, false, 1},
		{"no name", noName, ReasonSealedSecretInvalid, true, 1},
		{"bad base64", "# c\n" + badB64, ReasonSealedSecretInvalid, true, 2},
	} {
		objs, diags, handled, lost := o.Decrypt(tc.name+".yaml", []byte(tc.data))
		if tc.reason == "" {
			continue // only: no panic
		}
		var d *diag.Diagnostic
		for i := range diags {
			if diags[i].Reason == tc.reason {
				d = &diags[i]
			}
		}
		if !handled || lost != tc.lost || d == nil || d.Object.File != tc.name+".yaml" || d.Object.Line != tc.line {
			t.Errorf("%s: handled %v lost %v diags %+v; want %s at line %d, lost %v", tc.name, handled, lost, diags, tc.reason, tc.line, tc.lost)
		}
		if tc.name == "template" {
			s := objs[0].Obj.(*corev1.Secret)
			if string(s.Data["tls.key"]) != "K" || s.Data["combined"] != nil {
				t.Errorf("template: Secret data %v", s.Data)
			}
		}
	}
}
