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

	"github.com/moat-ingress/moat/internal/secrets/sealed"
	"github.com/moat-ingress/moat/internal/secrets/sops"
)

// FuzzDecrypt: whatever a manifest file holds, opening it neither panics
// nor puts a value of the file into a diagnostic. The seeds are a valid
// sops file and SealedSecret (so mutations reach the MAC and the unseal)
// and broken ones.
func FuzzDecrypt(f *testing.F) {
	dir := f.TempDir()
	id, _ := age.GenerateX25519Identity()
	ageFile := filepath.Join(dir, "age.txt")
	if err := os.WriteFile(ageFile, []byte(id.String()+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(dir, "sealing.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		f.Fatal(err)
	}
	const secretValue = "s3cr3t-VALUE"
	plain := "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\nstringData:\n  a: " + secretValue + "\n  n: 5\n  l: [x, y]\n"
	enc, err := sops.Encrypt([]byte(plain), []string{id.Recipient().String()}, "", time.Now())
	if err != nil {
		f.Fatal(err)
	}
	sealedYAML, err := sealed.Seal(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, StringData: map[string]string{"a": secretValue}}, &k.PublicKey, sealed.Strict)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(sealedYAML)
	f.Add([]byte("sops: {mac: 'ENC[AES256_GCM,data:,iv:,tag:,type:str]', lastmodified: x, age: [{recipient: r, enc: e}]}\n"))
	f.Add([]byte("a: &x ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nb: *x\nsops: {mac: m}\n"))
	f.Add([]byte("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x}\nspec: {encryptedData: [1]}\n"))
	o := &Opener{AgeKeyFile: ageFile, SealingKeyFile: keyFile}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, diags, _, _ := o.Decrypt("f.yaml", data)
		for _, d := range diags {
			if strings.Contains(d.Message+d.Hint, secretValue) {
				t.Fatalf("a diagnostic quotes a decrypted value: %+v", d)
			}
		}
	})
}
