// Package secrets_test checks moat's encrypted-manifest support against
// the real tools' libraries: SOPS files made and opened by
// github.com/getsops/sops/v3, SealedSecrets made and opened by
// github.com/bitnami-labs/sealed-secrets. Those libraries are imported
// here only (sops's pulls every cloud KMS SDK), never by moat itself.
package secrets_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	ssv1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	gosops "github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsdecrypt "github.com/getsops/sops/v3/decrypt"
	"github.com/getsops/sops/v3/keys"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/secrets/sealed"
	"github.com/moat-ingress/moat/internal/secrets/sops"
)

// ageKey makes an age identity and writes it to a key file as
// age-keygen does.
func ageKey(t *testing.T, dir, name string) (*age.X25519Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	body := "# created: test\n# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return id, p
}

// sopsEncrypt encrypts plain YAML for recipient with sops's own library,
// as `sops --encrypt --age RECIPIENT --encrypted-regex '^(data|stringData)$'`.
func sopsEncrypt(t *testing.T, plain []byte, recipient, encryptedRegex string) []byte {
	t.Helper()
	return sopsEncryptWith(t, sopsyaml.NewStore(&config.YAMLStoreConfig{}), plain, recipient, func(m *gosops.Metadata) {
		m.EncryptedRegex = encryptedRegex
		if encryptedRegex == "" {
			m.UnencryptedSuffix = "_unencrypted"
		}
	})
}

// sopsStore is the part of sops's stores the tests use.
type sopsStore interface {
	LoadPlainFile([]byte) (gosops.TreeBranches, error)
	EmitEncryptedFile(gosops.Tree) ([]byte, error)
}

// sopsEncryptWith encrypts with sops's library, store and rules as set.
func sopsEncryptWith(t *testing.T, st sopsStore, plain []byte, recipient string, rules func(*gosops.Metadata)) []byte {
	t.Helper()
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	tree := gosops.Tree{Branches: branches, Metadata: gosops.Metadata{
		KeyGroups: []gosops.KeyGroup{{keys.MasterKey(mk)}},
		Version:   "3.13.3",
	}}
	rules(&tree.Metadata)
	dataKey, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := sopsaes.NewCipher()
	mac, err := tree.Encrypt(dataKey, c)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = c.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := st.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sopsDecrypt opens a file with sops's own library, reading the key file
// from SOPS_AGE_KEY_FILE as the sops tool does.
func sopsDecrypt(t *testing.T, data []byte, keyFile string) ([]byte, error) {
	t.Helper()
	t.Setenv("SOPS_AGE_KEY_FILE", keyFile)
	t.Setenv("SOPS_AGE_KEY", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	return sopsdecrypt.Data(data, "yaml")
}

// docs parses a YAML stream into plain values for comparison.
func docs(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		delete(m, "sops")
		out = append(out, m)
	}
	return out
}

const plainSecrets = `apiVersion: v1
kind: Secret
metadata:
  name: web-tls
  namespace: shop
  annotations:
    owner: team-a
    replicas: 3
type: kubernetes.io/tls
data:
  tls.crt: Y2VydA==
  tls.key: a2V5
  empty: ""
stringData:
  note: "multi\nline: with: colons and \"quotes\" and unicode é"
  flag: true
  num: 42
  ratio: 0.5
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data:
  list:
  - a
  - b
`

// TestSOPSFormatAgainstLibrary: a file sops's library encrypts opens with
// moat's reader to the same values, a file moat's writer encrypts opens
// with sops's library, and sops's library rejects what moat rejects.
func TestSOPSFormatAgainstLibrary(t *testing.T) {
	dir := t.TempDir()
	id, keyFile := ageKey(t, dir, "keys.txt")
	other, otherFile := ageKey(t, dir, "other.txt")
	want := docs(t, []byte(plainSecrets))

	for _, regex := range []string{sops.KubernetesEncryptedRegex, ""} {
		byLib := sopsEncrypt(t, []byte(plainSecrets), id.Recipient().String(), regex)
		if strings.Contains(string(byLib), "a2V5") || !strings.Contains(string(byLib), "ENC[AES256_GCM") {
			t.Fatalf("regex %q: sops's library did not encrypt:\n%s", regex, byLib)
		}
		got, err := sops.Decrypt(byLib, []age.Identity{id})
		if err != nil {
			t.Fatalf("regex %q: moat cannot open sops's file: %v\n%s", regex, err, byLib)
		}
		if g := docs(t, got); !reflect.DeepEqual(g, want) {
			t.Errorf("regex %q: moat decrypted\n%#v\nwant\n%#v", regex, g, want)
		}
		// Line for line: every line of the decrypted text is where it was.
		if a, b := strings.Count(string(got), "\n"), strings.Count(string(byLib), "\n"); a != b {
			t.Errorf("regex %q: %d lines decrypted, %d encrypted", regex, a, b)
		}

		byMoat, err := sops.Encrypt([]byte(plainSecrets), []string{id.Recipient().String()}, regex, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		plain, err := sopsDecrypt(t, byMoat, keyFile)
		if err != nil {
			t.Fatalf("regex %q: sops's library cannot open moat's file: %v\n%s", regex, err, byMoat)
		}
		if g := docs(t, plain); !reflect.DeepEqual(g, want) {
			t.Errorf("regex %q: sops decrypted moat's file to\n%#v\nwant\n%#v", regex, g, want)
		}
		if regex != "" && !strings.Contains(string(byMoat), "name: web-tls") {
			t.Errorf("encrypted_regex %q left metadata encrypted:\n%s", regex, byMoat)
		}

		// A wrong key: both refuse.
		if _, err := sopsDecrypt(t, byLib, otherFile); err == nil {
			t.Errorf("sops's library opened a file with a key it is not encrypted for")
		}
		_, err = sops.Decrypt(byLib, []age.Identity{other})
		if e, ok := err.(*sops.Error); !ok || e.Kind != sops.NoMatchingKey || !strings.Contains(e.Msg, id.Recipient().String()) {
			t.Errorf("wrong key: got %v, want a NoMatchingKey error naming the file's recipient", err)
		}
	}

	// Tampering: an unencrypted value changed, encrypted values swapped
	// between keys, keys reordered. sops's library and moat both refuse.
	byLib := sopsEncrypt(t, []byte(plainSecrets), id.Recipient().String(), sops.KubernetesEncryptedRegex)
	lines := strings.Split(string(byLib), "\n")
	var crt, key int
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "    tls.crt: "):
			crt = i
		case strings.HasPrefix(l, "    tls.key: "):
			key = i
		}
	}
	swapped := append([]string(nil), lines...)
	swapped[crt] = "    tls.crt: " + strings.TrimPrefix(lines[key], "    tls.key: ")
	swapped[key] = "    tls.key: " + strings.TrimPrefix(lines[crt], "    tls.crt: ")
	for name, tampered := range map[string]string{
		"unencrypted value": strings.Replace(string(byLib), "owner: team-a", "owner: team-b", 1),
		"values swapped":    strings.Join(swapped, "\n"),
		"mac changed":       strings.Replace(string(byLib), "mac: ENC[AES256_GCM,data:", "mac: ENC[AES256_GCM,data:AA", 1),
	} {
		if _, err := sopsDecrypt(t, []byte(tampered), keyFile); err == nil {
			t.Errorf("%s: sops's library opened a tampered file", name)
		}
		_, err := sops.Decrypt([]byte(tampered), []age.Identity{id})
		if e, ok := err.(*sops.Error); !ok || e.Kind != sops.MACMismatch {
			t.Errorf("%s: got %v, want a MACMismatch error", name, err)
		}
	}
}

// sealingKey makes a controller key pair: the private key as the
// controller's tls.key (PKCS #1 PEM) in a file, and the public key.
func sealingKey(t *testing.T, dir, name string) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, p
}

var codecs = serializer.NewCodecFactory(runtime.NewScheme())

// libSeal seals a Secret with sealed-secrets' own library, as kubeseal.
func libSeal(t *testing.T, pub *rsa.PublicKey, sec *corev1.Secret) []byte {
	t.Helper()
	ss, err := ssv1.NewSealedSecret(codecs, pub, sec)
	if err != nil {
		t.Fatal(err)
	}
	ss.TypeMeta = metav1.TypeMeta{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret"}
	out, err := sigsyaml.Marshal(ss)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func libUnseal(t *testing.T, data []byte, k *rsa.PrivateKey) (*corev1.Secret, error) {
	t.Helper()
	var ss ssv1.SealedSecret
	if err := sigsyaml.Unmarshal(data, &ss); err != nil {
		t.Fatal(err)
	}
	fp, err := sscrypto.PublicKeyFingerprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return ss.Unseal(codecs, map[string]*rsa.PrivateKey{fp: k})
}

func findOne(t *testing.T, data []byte) *sealed.SealedSecret {
	t.Helper()
	ds := sealed.Find(data)
	if len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Find: %+v", ds)
	}
	return ds[0].Object
}

// TestSealedFormatAgainstLibrary: kubeseal's library seals, moat
// unseals; moat seals, the controller's library unseals; scopes bind as
// the controller's do.
func TestSealedFormatAgainstLibrary(t *testing.T) {
	dir := t.TempDir()
	k, _ := sealingKey(t, dir, "sealing.key")
	other, _ := sealingKey(t, dir, "other.key")
	keys := sealed.Keys{}
	fp, _ := sscrypto.PublicKeyFingerprint(&k.PublicKey)
	keys[fp] = k
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "web-tls", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")},
	}
	for _, scope := range []sealed.Scope{sealed.Strict, sealed.NamespaceWide, sealed.ClusterWide} {
		s := sec.DeepCopy()
		if scope == sealed.NamespaceWide {
			s.Annotations = map[string]string{ssv1.SealedSecretNamespaceWideAnnotation: "true"}
		}
		if scope == sealed.ClusterWide {
			s.Annotations = map[string]string{ssv1.SealedSecretClusterWideAnnotation: "true"}
		}
		byLib := libSeal(t, &k.PublicKey, s)
		got, warns, err := sealed.Unseal(findOne(t, byLib), keys, "default")
		if err != nil || len(warns) > 0 {
			t.Fatalf("%s: moat cannot unseal the library's object: %v %v\n%s", scope, err, warns, byLib)
		}
		if !reflect.DeepEqual(got.Data, sec.Data) || got.Type != corev1.SecretTypeTLS || got.Labels["app"] != "web" || got.Name != "web-tls" || got.Namespace != "shop" {
			t.Errorf("%s: unsealed %+v", scope, got)
		}

		bySeal, err := sealed.Seal(sec, &k.PublicKey, scope)
		if err != nil {
			t.Fatal(err)
		}
		libGot, err := libUnseal(t, bySeal, k)
		if err != nil {
			t.Fatalf("%s: the library cannot unseal moat's object: %v\n%s", scope, err, bySeal)
		}
		if !reflect.DeepEqual(libGot.Data, sec.Data) || libGot.Type != corev1.SecretTypeTLS {
			t.Errorf("%s: library unsealed %+v", scope, libGot)
		}

		// Renamed, and moved to another namespace: only the wider
		// scopes allow it, in both implementations.
		for _, mv := range []struct {
			what, from, to string
			allowed        bool
		}{
			{"renamed", "name: web-tls", "name: stolen", scope != sealed.Strict},
			{"moved", "namespace: shop", "namespace: other", scope == sealed.ClusterWide},
		} {
			moved := []byte(strings.ReplaceAll(string(bySeal), mv.from, mv.to))
			_, libErr := libUnseal(t, moved, k)
			_, _, err := sealed.Unseal(findOne(t, moved), keys, "default")
			if (libErr == nil) != mv.allowed || (err == nil) != mv.allowed {
				t.Errorf("%s %s: library err %v, moat err %v; want allowed=%v", scope, mv.what, libErr, err, mv.allowed)
			}
		}
	}
	// Another controller's key.
	byLib := libSeal(t, &other.PublicKey, sec)
	_, _, err := sealed.Unseal(findOne(t, byLib), keys, "default")
	if e, ok := err.(*sealed.Error); !ok || e.Kind != sealed.NoMatchingKey {
		t.Errorf("other key: got %v, want NoMatchingKey", err)
	}
}

// TestSOPSVariantsAgainstLibrary: files sops's library writes as JSON, or
// with mac_only_encrypted or encrypted_suffix, open with moat's reader
// and through the opener serve uses, to the same Secret.
func TestSOPSVariantsAgainstLibrary(t *testing.T) {
	dir := t.TempDir()
	id, keyFile := ageKey(t, dir, "keys.txt")
	const plainJSON = `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-tls", "namespace": "shop"},
 "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}, "stringData": {"note_enc": "a \"quoted\"\nline"}}`
	const plainYAML = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls, namespace: shop}\ntype: kubernetes.io/tls\n" +
		"data: {tls.crt: Y2VydA==, tls.key: a2V5}\nstringData: {note_enc: \"a \\\"quoted\\\"\\nline\"}\n"
	regex := func(m *gosops.Metadata) { m.EncryptedRegex = sops.KubernetesEncryptedRegex }
	for name, file := range map[string][]byte{
		"json": sopsEncryptWith(t, sopsjson.NewStore(&config.JSONStoreConfig{}), []byte(plainJSON), id.Recipient().String(), regex),
		"mac_only_encrypted": sopsEncryptWith(t, sopsyaml.NewStore(&config.YAMLStoreConfig{}), []byte(plainYAML), id.Recipient().String(), func(m *gosops.Metadata) {
			regex(m)
			m.MACOnlyEncrypted = true
		}),
		"encrypted_suffix": sopsEncryptWith(t, sopsyaml.NewStore(&config.YAMLStoreConfig{}), []byte(plainYAML), id.Recipient().String(), func(m *gosops.Metadata) {
			m.EncryptedSuffix = "_enc"
		}),
	} {
		if _, err := sops.Decrypt(file, []age.Identity{id}); err != nil {
			t.Errorf("%s: %v\n%s", name, err, file)
			continue
		}
		o := &secrets.Opener{AgeKeyFile: keyFile}
		objs, diags, handled, lost := o.Decrypt(name+".file", file)
		if !handled || lost || len(diags) != 0 || len(objs) != 1 {
			t.Errorf("%s: handled %v lost %v diags %v objects %d\n%s", name, handled, lost, diags, len(objs), file)
			continue
		}
		sec := objs[0].Obj.(*corev1.Secret)
		if string(sec.Data["tls.key"]) != "key" || string(sec.Data["note_enc"]) != "a \"quoted\"\nline" || sec.Name != "web-tls" {
			t.Errorf("%s: Secret %s/%s data %q", name, sec.Namespace, sec.Name, sec.Data)
		}
	}
}
