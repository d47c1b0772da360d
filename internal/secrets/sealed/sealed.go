// Package sealed opens and writes Bitnami SealedSecret objects
// (bitnami.com/v1alpha1) with the sealing key pair of a sealed-secrets
// controller, in memory.
//
// The cryptography is sealed-secrets' own (pkg/crypto: RSA-OAEP with
// SHA-256 wrapping an AES-256-GCM session key, the scope label as OAEP
// label). Its API package (pkg/apis/sealedsecrets/v1alpha1, whose Unseal
// this mirrors) is not imported: it pulls sprig's template library for
// spec.template.data, which a TLS Secret does not use; test/secrets checks
// this package against objects made and opened by that package.
package sealed

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// APIVersion and Kind of a SealedSecret.
const (
	APIVersion = "bitnami.com/v1alpha1"
	Kind       = "SealedSecret"
)

// Scope annotations (on the SealedSecret and its template), as kubeseal
// writes them.
const (
	AnnotationClusterWide   = "sealedsecrets.bitnami.com/cluster-wide"
	AnnotationNamespaceWide = "sealedsecrets.bitnami.com/namespace-wide"
)

// Scope says where a sealed value may be unsealed.
type Scope int

const (
	// Strict binds each value to the Secret's namespace and name
	// (kubeseal's default).
	Strict Scope = iota
	// NamespaceWide binds it to the namespace only.
	NamespaceWide
	// ClusterWide binds it to nothing.
	ClusterWide
)

// ParseScope reads kubeseal's --scope values.
func ParseScope(s string) (Scope, error) {
	switch s {
	case "", "strict":
		return Strict, nil
	case "namespace-wide":
		return NamespaceWide, nil
	case "cluster-wide":
		return ClusterWide, nil
	}
	return Strict, fmt.Errorf("scope %q: use strict, namespace-wide or cluster-wide", s)
}

func (s Scope) String() string {
	return [...]string{"strict", "namespace-wide", "cluster-wide"}[s]
}

// label is the OAEP label a scope binds values to.
func label(namespace, name string, s Scope) []byte {
	switch s {
	case ClusterWide:
		return nil
	case NamespaceWide:
		return []byte(namespace)
	}
	return []byte(namespace + "/" + name)
}

func scopeOf(annotations map[string]string) Scope {
	switch {
	case annotations[AnnotationClusterWide] == "true":
		return ClusterWide
	case annotations[AnnotationNamespaceWide] == "true":
		return NamespaceWide
	}
	return Strict
}

// SealedSecret is the part of the object this package reads and writes.
type SealedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              Spec `json:"spec"`
}

// Spec is a SealedSecret's spec.
type Spec struct {
	Template      Template          `json:"template,omitempty"`
	EncryptedData map[string]string `json:"encryptedData"`
	// Data is the format before v0.7 (one blob); not read.
	Data []byte `json:"data,omitempty"`
}

// Template is the Secret's metadata and type.
type Template struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Type              corev1.SecretType `json:"type,omitempty"`
	Immutable         *bool             `json:"immutable,omitempty"`
	// Data holds Go templates over the decrypted values; not supported.
	Data map[string]string `json:"data,omitempty"`
}

// ErrKind classifies why an object did not unseal.
type ErrKind int

const (
	// Invalid: malformed, or a feature not supported.
	Invalid ErrKind = iota
	// NoMatchingKey: no key opens a value (another controller's key, or
	// the object was renamed or moved to another namespace).
	NoMatchingKey
)

// Error is a failure to unseal. Its message never quotes a value.
type Error struct {
	Kind ErrKind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Keys are sealing private keys by public-key fingerprint, as the
// controller keeps them (every key it ever generated, for rotation).
type Keys map[string]*rsa.PrivateKey

// ParseKeys reads every RSA private key of a PEM file (the tls.key of
// the controller's sealing key Secrets, concatenated).
func ParseKeys(pemData []byte) (Keys, error) {
	keys := Keys{}
	rest := pemData
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		default:
			continue // certificates next to the key
		}
		if err != nil {
			return nil, fmt.Errorf("a %s block does not parse: %v", b.Type, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key: sealing keys are RSA", k)
		}
		fp, err := sscrypto.PublicKeyFingerprint(&rk.PublicKey)
		if err != nil {
			return nil, err
		}
		keys[fp] = rk
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA private key (PEM \"RSA PRIVATE KEY\" or \"PRIVATE KEY\") found")
	}
	return keys, nil
}

// Mentions reports whether data may hold a SealedSecret, a cheap test
// before parsing.
func Mentions(data []byte) bool {
	return bytes.Contains(data, []byte(Kind)) && bytes.Contains(data, []byte("bitnami.com"))
}

// Doc is one SealedSecret found in a file.
type Doc struct {
	Line   int // of the document's first key
	Object *SealedSecret
	Err    error // the document is a SealedSecret but does not decode
}

// Find returns the SealedSecrets of a YAML or JSON file, in order.
func Find(data []byte) []Doc {
	var out []Doc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return out // the manifest decoder reports parse errors
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		top := n.Content[0]
		var apiVersion, kind string
		for i := 0; i+1 < len(top.Content); i += 2 {
			switch top.Content[i].Value {
			case "apiVersion":
				apiVersion = top.Content[i+1].Value
			case "kind":
				kind = top.Content[i+1].Value
			}
		}
		if kind != Kind || apiVersion != APIVersion {
			continue
		}
		d := Doc{Line: top.Line}
		var m map[string]any
		if err := top.Decode(&m); err != nil {
			d.Err = &Error{Invalid, fmt.Sprintf("line %d: %v", top.Line, err)}
		} else if j, err := json.Marshal(m); err != nil {
			d.Err = &Error{Invalid, fmt.Sprintf("line %d: %v", top.Line, err)}
		} else {
			d.Object = &SealedSecret{}
			if err := json.Unmarshal(j, d.Object); err != nil {
				d.Object, d.Err = nil, &Error{Invalid, fmt.Sprintf("line %d: not a SealedSecret: %v", top.Line, err)}
			}
		}
		out = append(out, d)
	}
}

// Unseal returns the Secret that the sealed-secrets controller would
// create from s (namespace defaulted to defaultNS), and warnings about
// what it leaves out.
func Unseal(s *SealedSecret, keys Keys, defaultNS string) (*corev1.Secret, []string, error) {
	if s.Name == "" {
		return nil, nil, &Error{Invalid, "metadata.name is missing"}
	}
	if len(s.Spec.Data) > 0 {
		return nil, nil, &Error{Invalid, "spec.data is the format of sealed-secrets before v0.7; reseal it with kubeseal (encryptedData)"}
	}
	ns := s.Namespace
	if ns == "" {
		ns = defaultNS
	}
	if len(keys) == 0 {
		return nil, nil, &Error{NoMatchingKey, "no sealing key"}
	}
	// The controller binds the label to the SealedSecret's own scope
	// annotations (v1alpha1.Unseal: labelFor(s.GetObjectMeta())).
	lbl := label(ns, s.Name, scopeOf(s.Annotations))
	sec := &corev1.Secret{}
	s.Spec.Template.ObjectMeta.DeepCopyInto(&sec.ObjectMeta)
	sec.Name, sec.Namespace = s.Name, ns
	sec.Type, sec.Immutable = s.Spec.Template.Type, s.Spec.Template.Immutable
	if sec.Type == "" {
		sec.Type = corev1.SecretTypeOpaque
	}
	sec.Data = make(map[string][]byte, len(s.Spec.EncryptedData))
	var failed []string
	for _, k := range slices.Sorted(maps.Keys(s.Spec.EncryptedData)) {
		ct, err := base64.StdEncoding.DecodeString(s.Spec.EncryptedData[k])
		if err != nil {
			return nil, nil, &Error{Invalid, fmt.Sprintf("spec.encryptedData.%s is not base64", k)}
		}
		pt, err := sscrypto.HybridDecrypt(rand.Reader, keys, ct, lbl)
		if err != nil {
			failed = append(failed, k)
			continue
		}
		sec.Data[k] = pt
	}
	if len(failed) > 0 {
		return nil, nil, &Error{NoMatchingKey, fmt.Sprintf("spec.encryptedData (%s) does not open with the sealing key: sealed with another controller's key, or sealed for another name or namespace (scope %s binds it to %q)",
			strings.Join(failed, ", "), scopeOf(s.Annotations), string(lbl))}
	}
	var warns []string
	if len(s.Spec.Template.Data) > 0 {
		warns = append(warns, fmt.Sprintf("spec.template.data (%s): templates are not supported by moat; those keys are left out",
			strings.Join(slices.Sorted(maps.Keys(s.Spec.Template.Data)), ", ")))
	}
	return sec, warns, nil
}

// Seal encrypts a Secret's data and stringData for the controller whose
// certificate (public key) is given, as kubeseal does, and returns the
// SealedSecret manifest (YAML).
func Seal(sec *corev1.Secret, pub *rsa.PublicKey, scope Scope) ([]byte, error) {
	if scope != ClusterWide && sec.Namespace == "" {
		return nil, errors.New("the Secret needs a namespace for the strict and namespace-wide scopes (kubeseal's rule): give --namespace")
	}
	out := SealedSecret{
		TypeMeta:   metav1.TypeMeta{APIVersion: APIVersion, Kind: Kind},
		ObjectMeta: metav1.ObjectMeta{Name: sec.Name, Namespace: sec.Namespace},
		Spec: Spec{
			Template:      Template{Type: sec.Type, Immutable: sec.Immutable},
			EncryptedData: map[string]string{},
		},
	}
	out.Spec.Template.Name, out.Spec.Template.Namespace = sec.Name, sec.Namespace
	out.Spec.Template.Labels, out.Spec.Template.Annotations = sec.Labels, scopeAnnotations(sec.Annotations, scope)
	out.Annotations = scopeAnnotations(nil, scope)
	lbl := label(sec.Namespace, sec.Name, scope)
	seal := func(k string, v []byte) error {
		ct, err := sscrypto.HybridEncrypt(rand.Reader, pub, v, lbl)
		if err != nil {
			return err
		}
		out.Spec.EncryptedData[k] = base64.StdEncoding.EncodeToString(ct)
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(sec.Data)) {
		if err := seal(k, sec.Data[k]); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sec.StringData)) {
		if err := seal(k, []byte(sec.StringData[k])); err != nil {
			return nil, err
		}
	}
	return sigsyaml.Marshal(&out)
}

// scopeAnnotations adds the scope annotations kubeseal writes.
func scopeAnnotations(a map[string]string, s Scope) map[string]string {
	if s == Strict {
		return a
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	switch s {
	case NamespaceWide:
		out[AnnotationNamespaceWide] = "true"
	case ClusterWide:
		out[AnnotationClusterWide] = "true"
	}
	return out
}
