// Package sops opens and writes SOPS-encrypted manifests (YAML, or JSON
// read as YAML) whose data key is encrypted for age recipients.
//
// Why not sops's own packages: every one of them (aes, stores/yaml, the
// age key source through the root package) imports the root package,
// which imports its key service and audit log, and with them every cloud
// KMS SDK, Vault's client and a PostgreSQL driver: a program importing
// only sops's aes package (with age and sealed-secrets' API package) was
// 57 MB, more than all of moat (47.5 MB), for what needs AES-GCM, SHA-512
// and age. This package and sealed-secrets' crypto package add 0.5 MB to
// moat. So this package
// implements the documented file format (the tree walk, the AES256_GCM
// value encoding, the MAC and the metadata block, as in sops v3.13.3's
// sops.go, aes/cipher.go and stores/) with filippo.io/age, sops's own age
// library, for the data key; test/secrets checks it both ways against
// files made and opened by sops's library.
//
// Supported: age recipients (top level or one key group), the
// unencrypted/encrypted suffix and regex rules, mac_only_encrypted.
// Refused with a reason: Shamir key groups, the comment-regex rules, files
// encrypted for other key kinds only (KMS, PGP, Vault).
//
// Decrypt keeps every line where it was: each encrypted scalar is replaced
// on its own line by its plaintext as a one-line quoted string, so the
// decoder's file:line origins stay those of the encrypted file. The
// plaintext exists only in the returned slice.
package sops

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"go.yaml.in/yaml/v3"
)

// MetadataKey is the top-level key holding sops's metadata.
const MetadataKey = "sops"

// FormatVersion is the sops version whose format Encrypt writes.
const FormatVersion = "3.13.3"

// KubernetesEncryptedRegex encrypts only a Secret's data and stringData,
// the rule Flux's and sops's documentation give for Kubernetes Secrets
// (creation_rules: encrypted_regex: ^(data|stringData)$), so that kind,
// name and namespace stay readable in review.
const KubernetesEncryptedRegex = "^(data|stringData)$"

// Kind classifies why a file did not open.
type Kind int

const (
	// Invalid: the file or its metadata is malformed or uses a feature
	// this package does not implement.
	Invalid Kind = iota
	// NoMatchingKey: none of the identities opens the data key.
	NoMatchingKey
	// MACMismatch: a value, a key or their order changed since the file
	// was encrypted, or a value does not decrypt.
	MACMismatch
)

// Error is a failure to open a file. Its message never quotes a value.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errf(k Kind, format string, a ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...)}
}

// macOnlyEncryptedInit starts the MAC of files with mac_only_encrypted, so
// that it differs from a MAC over all values (sops.MACOnlyEncryptedInitialization).
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// metadata is the part of the sops block this package reads.
type metadata struct {
	Age                     []ageKey   `yaml:"age,omitempty"`
	KeyGroups               []keyGroup `yaml:"key_groups,omitempty"`
	KMS                     []any      `yaml:"kms,omitempty"`
	GCPKMS                  []any      `yaml:"gcp_kms,omitempty"`
	HCKMS                   []any      `yaml:"hckms,omitempty"`
	AzureKV                 []any      `yaml:"azure_kv,omitempty"`
	Vault                   []any      `yaml:"hc_vault,omitempty"`
	PGP                     []any      `yaml:"pgp,omitempty"`
	LastModified            string     `yaml:"lastmodified"`
	MAC                     string     `yaml:"mac"`
	UnencryptedSuffix       string     `yaml:"unencrypted_suffix,omitempty"`
	EncryptedSuffix         string     `yaml:"encrypted_suffix,omitempty"`
	UnencryptedRegex        string     `yaml:"unencrypted_regex,omitempty"`
	EncryptedRegex          string     `yaml:"encrypted_regex,omitempty"`
	UnencryptedCommentRegex string     `yaml:"unencrypted_comment_regex,omitempty"`
	EncryptedCommentRegex   string     `yaml:"encrypted_comment_regex,omitempty"`
	MACOnlyEncrypted        bool       `yaml:"mac_only_encrypted,omitempty"`
	ShamirThreshold         int        `yaml:"shamir_threshold,omitempty"`
	Version                 string     `yaml:"version"`
}

type keyGroup struct {
	Age []ageKey `yaml:"age,omitempty"`
}

type ageKey struct {
	Recipient string `yaml:"recipient"`
	Enc       string `yaml:"enc"`
}

// rules decides which values are encrypted, as sops's shouldBeEncrypted
// does for values (comments are never walked here).
type rules struct {
	unencSuffix, encSuffix string
	unencRe, encRe         *regexp.Regexp
}

func (m *metadata) rules() (rules, error) {
	r := rules{unencSuffix: m.UnencryptedSuffix, encSuffix: m.EncryptedSuffix}
	var err error
	if m.UnencryptedRegex != "" {
		if r.unencRe, err = regexp.Compile(m.UnencryptedRegex); err != nil {
			return r, errf(Invalid, "sops metadata: unencrypted_regex: %v", err)
		}
	}
	if m.EncryptedRegex != "" {
		if r.encRe, err = regexp.Compile(m.EncryptedRegex); err != nil {
			return r, errf(Invalid, "sops metadata: encrypted_regex: %v", err)
		}
	}
	return r, nil
}

func (r rules) encrypted(path []string) bool {
	enc := true
	if r.unencSuffix != "" && slices.ContainsFunc(path, func(p string) bool { return strings.HasSuffix(p, r.unencSuffix) }) {
		enc = false
	}
	if r.encSuffix != "" {
		enc = slices.ContainsFunc(path, func(p string) bool { return strings.HasSuffix(p, r.encSuffix) })
	}
	if r.unencRe != nil && slices.ContainsFunc(path, r.unencRe.MatchString) {
		enc = false
	}
	if r.encRe != nil {
		enc = slices.ContainsFunc(path, r.encRe.MatchString)
	}
	return enc
}

// IsEncrypted reports whether data looks like a sops file: a top-level
// "sops" mapping with a mac. It is a cheap test on the text, made before
// parsing every manifest twice.
func IsEncrypted(data []byte) bool {
	if !bytes.Contains(data, []byte("sops")) || !bytes.Contains(data, []byte("mac")) {
		return false
	}
	for _, doc := range documents(data) {
		if _, _, ok := metadataNode(doc); ok {
			return true
		}
	}
	return false
}

// documents parses data's YAML documents; it stops at the first that
// does not parse (IsEncrypted then says what it saw so far).
func documents(data []byte) []*yaml.Node {
	var out []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return out
		}
		out = append(out, &n)
	}
}

// metadataNode finds the top-level "sops" mapping of a document.
func metadataNode(doc *yaml.Node) (top, md *yaml.Node, ok bool) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, false
	}
	top = doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == MetadataKey && top.Content[i+1].Kind == yaml.MappingNode {
			return top, top.Content[i+1], true
		}
	}
	return top, nil, false
}

// file is a parsed sops file.
type file struct {
	docs  []*yaml.Node
	meta  metadata
	rules rules
}

func parse(data []byte) (*file, error) {
	f := &file{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errf(Invalid, "not valid YAML: %v", err)
		}
		f.docs = append(f.docs, &n)
	}
	var md *yaml.Node
	for _, d := range f.docs {
		if _, m, ok := metadataNode(d); ok {
			md = m
			break
		}
	}
	if md == nil {
		return nil, errf(Invalid, "no sops metadata: the file is not encrypted with sops")
	}
	if err := md.Decode(&f.meta); err != nil {
		return nil, errf(Invalid, "sops metadata: %v", err)
	}
	switch {
	case f.meta.UnencryptedCommentRegex != "" || f.meta.EncryptedCommentRegex != "":
		return nil, errf(Invalid, "sops metadata: the comment rules (encrypted_comment_regex, unencrypted_comment_regex) are not supported by moat; encrypt with encrypted_regex instead")
	case len(f.meta.KeyGroups) > 1:
		return nil, errf(Invalid, "sops metadata: %d key groups (Shamir secret sharing) are not supported by moat; encrypt for age recipients in one group", len(f.meta.KeyGroups))
	}
	var err error
	f.rules, err = f.meta.rules()
	return f, err
}

// ageKeys lists the data key's age encryptions.
func (m *metadata) ageKeys() []ageKey {
	keys := slices.Clone(m.Age)
	for _, g := range m.KeyGroups {
		keys = append(keys, g.Age...)
	}
	return keys
}

// dataKey opens the data key with the first identity that fits.
func (f *file) dataKey(ids []age.Identity) ([]byte, error) {
	keys := f.meta.ageKeys()
	if len(keys) == 0 {
		var kinds []string
		for _, k := range []struct {
			name string
			n    int
		}{{"AWS KMS", len(f.meta.KMS)}, {"GCP KMS", len(f.meta.GCPKMS)}, {"Azure Key Vault", len(f.meta.AzureKV)},
			{"HashiCorp Vault", len(f.meta.Vault)}, {"HuaweiCloud KMS", len(f.meta.HCKMS)}, {"PGP", len(f.meta.PGP)}} {
			if k.n > 0 {
				kinds = append(kinds, k.name)
			}
		}
		if len(kinds) == 0 {
			kinds = []string{"no key at all"}
		}
		return nil, errf(NoMatchingKey, "the data key is encrypted for %s, not for an age recipient; moat decrypts age recipients only (sops updatekeys after adding one)", strings.Join(kinds, ", "))
	}
	if len(ids) == 0 {
		return nil, errf(NoMatchingKey, "no age identity to decrypt with")
	}
	var recips []string
	for _, k := range keys {
		recips = append(recips, k.Recipient)
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(k.Enc)), ids...)
		if err != nil {
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 64))
		if err != nil || len(key) != 32 {
			return nil, errf(Invalid, "the data key for recipient %s does not decrypt to a 32-byte key", k.Recipient)
		}
		return key, nil
	}
	return nil, errf(NoMatchingKey, "no key given opens this file: it is encrypted for %s, the key file holds %s",
		strings.Join(recips, ", "), strings.Join(recipientsOf(ids), ", "))
}

// recipientsOf names the public side of each identity, for messages.
func recipientsOf(ids []age.Identity) []string {
	var out []string
	for _, id := range ids {
		switch i := id.(type) {
		case *age.X25519Identity:
			out = append(out, i.Recipient().String())
		case *age.HybridIdentity:
			out = append(out, i.Recipient().String())
		default:
			out = append(out, fmt.Sprintf("a %T", id))
		}
	}
	return out
}

// leaf is called for each value sops walks, with its path of keys.
type leaf func(n *yaml.Node, v any, path []string) error

// maxVisits bounds a walk: aliases are expanded, as sops expands them,
// so a few lines of anchors could otherwise describe a tree of billions of
// values, or one that contains itself.
const maxVisits = 1 << 20

// walk visits every value of every document but the sops block, in
// sops's order (documents, then keys in file order, sequences in order).
func (f *file) walk(fn leaf) error {
	budget := maxVisits
	w := &walker{fn: fn, budget: &budget}
	for _, d := range f.docs {
		if d.Kind != yaml.DocumentNode || len(d.Content) == 0 {
			continue
		}
		top := d.Content[0]
		switch top.Kind {
		case yaml.MappingNode:
		case yaml.ScalarNode:
			if top.ShortTag() == "!!null" {
				continue // an empty document
			}
			return errf(Invalid, "line %d: a YAML document that is a single value is not a sops tree", top.Line)
		default:
			return errf(Invalid, "line %d: a YAML document that is a sequence is not a sops tree", top.Line)
		}
		if err := w.mapping(top, nil, true); err != nil {
			return err
		}
	}
	return nil
}

// walker carries a walk's callback and its remaining budget of visits.
type walker struct {
	fn     leaf
	budget *int
}

func (w *walker) spend(n *yaml.Node) error {
	if *w.budget--; *w.budget < 0 {
		return errf(Invalid, "line %d: more than %d values once aliases are expanded", n.Line, maxVisits)
	}
	return nil
}

func (w *walker) mapping(m *yaml.Node, path []string, top bool) error {
	if err := w.spend(m); err != nil {
		return err
	}
	if m.Kind == yaml.AliasNode {
		return w.value(m, path)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if top && k.Value == MetadataKey {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			return errf(Invalid, "line %d: key %q is not a string; sops trees have string keys only", k.Line, k.Value)
		}
		if err := w.value(v, append(slices.Clip(path), k.Value)); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) value(n *yaml.Node, path []string) error {
	if err := w.spend(n); err != nil {
		return err
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return errf(Invalid, "line %d: an alias to nothing", n.Line)
		}
		return w.value(n.Alias, path)
	case yaml.MappingNode:
		return w.mapping(n, path, false)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := w.value(c, path); err != nil {
				return err
			}
		}
		return nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return errf(Invalid, "line %d: %v", n.Line, err)
		}
		if v == nil {
			return nil // sops neither encrypts nor MACs a null
		}
		return w.fn(n, v, path)
	}
	return errf(Invalid, "line %d: unexpected YAML node", n.Line)
}

// macBytes is sops.ToBytes: how a plaintext value enters the MAC.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case []byte:
		return v, nil
	case time.Time:
		return v.MarshalText()
	}
	return nil, fmt.Errorf("a value of type %T, which sops cannot hold", v)
}

var encRe = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// decryptValue opens one ENC[AES256_GCM,...] value; additional data binds
// it to its path, so a value moved to another key does not open.
func decryptValue(s string, key []byte, ad string) (any, error) {
	if s == "" {
		return "", nil
	}
	m := encRe.FindStringSubmatch(s)
	if m == nil {
		return nil, errors.New("not a sops-encrypted value")
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errors.New("not a sops-encrypted value (bad base64)")
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) == 0 {
		return nil, errors.New("empty iv")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(ad))
	if err != nil {
		return nil, errors.New("does not decrypt with the data key (changed, or moved from another key)")
	}
	switch m[4] {
	case "str":
		return string(plain), nil
	case "int":
		return strconv.Atoi(string(plain))
	case "float":
		return strconv.ParseFloat(string(plain), 64)
	case "bytes":
		return plain, nil
	case "bool":
		return strconv.ParseBool(string(plain))
	case "time":
		var t time.Time
		err := t.UnmarshalText(plain)
		return t, err
	}
	return nil, fmt.Errorf("unknown value type %q", m[4])
}

// encryptValue is sops's aes Cipher.Encrypt with a fresh 32-byte IV.
func encryptValue(v any, key []byte, ad string) (string, error) {
	var plain []byte
	var typ string
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", nil
		}
		typ, plain = "str", []byte(v)
	case int:
		typ, plain = "int", []byte(strconv.Itoa(v))
	case float64:
		typ, plain = "float", []byte(strconv.FormatFloat(v, 'f', -1, 64))
	case bool:
		typ, plain = "bool", []byte("False")
		if v {
			plain = []byte("True")
		}
	case time.Time:
		b, err := v.MarshalText()
		if err != nil {
			return "", err
		}
		typ, plain = "time", b
	default:
		return "", fmt.Errorf("cannot encrypt a value of type %T", v)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	iv := make([]byte, 32)
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return "", err
	}
	out := gcm.Seal(nil, iv, plain, []byte(ad))
	n := len(out) - gcm.Overhead()
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]", enc(out[:n]), enc(iv), enc(out[n:]), typ), nil
}

// Decrypt opens a sops file with ids and returns its text with every
// encrypted value replaced by its plaintext on the same line (see the
// package comment). The sops block is left in place: it holds nothing
// secret, and readers ignore the key.
func Decrypt(data []byte, ids []age.Identity) ([]byte, error) {
	f, err := parse(data)
	if err != nil {
		return nil, err
	}
	key, err := f.dataKey(ids)
	if err != nil {
		return nil, err
	}
	h := sha512.New()
	if f.meta.MACOnlyEncrypted {
		h.Write(macOnlyEncryptedInit)
	}
	repl := map[*yaml.Node]string{}
	err = f.walk(func(n *yaml.Node, v any, path []string) error {
		enc := f.rules.encrypted(path)
		if enc {
			s, ok := v.(string)
			if !ok {
				return errf(MACMismatch, "line %d (%s): a value that should be encrypted is not (%T)", n.Line, strings.Join(path, "."), v)
			}
			pv, err := decryptValue(s, key, strings.Join(path, ":")+":")
			if err != nil {
				return errf(MACMismatch, "line %d (%s): %v", n.Line, strings.Join(path, "."), err)
			}
			v = pv
			if s != "" {
				repl[n] = render(pv)
			}
		}
		if !f.meta.MACOnlyEncrypted || enc {
			b, err := macBytes(v)
			if err != nil {
				return errf(Invalid, "line %d (%s): %v", n.Line, strings.Join(path, "."), err)
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := f.checkMAC(h, key); err != nil {
		return nil, err
	}
	return replace(data, repl)
}

func (f *file) checkMAC(h hash.Hash, key []byte) error {
	lm, err := time.Parse(time.RFC3339, f.meta.LastModified)
	if err != nil {
		return errf(Invalid, "sops metadata: lastmodified %q: %v", f.meta.LastModified, err)
	}
	want, err := decryptValue(f.meta.MAC, key, lm.Format(time.RFC3339))
	if err != nil {
		return errf(MACMismatch, "the MAC does not decrypt: the file was changed (its lastmodified or mac) after encryption")
	}
	if got := fmt.Sprintf("%X", h.Sum(nil)); want != got {
		return errf(MACMismatch, "MAC mismatch: the file was changed after it was encrypted (a value, a key or their order); re-encrypt it with sops")
	}
	return nil
}

// render writes a plaintext value as a one-line YAML (and JSON) scalar.
func render(v any) string {
	switch v := v.(type) {
	case string:
		b, _ := json.Marshal(v)
		return string(b)
	case []byte:
		b, _ := json.Marshal(string(v))
		return string(b)
	case time.Time:
		b, _ := v.MarshalText()
		return string(b)
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return `""`
}

// replace swaps each node's token in data for its replacement, line by
// line, right to left within a line.
func replace(data []byte, repl map[*yaml.Node]string) ([]byte, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	type edit struct {
		at, end int
		text    string
	}
	byLine := map[int][]edit{}
	for n, text := range repl {
		if n.Line < 1 || n.Line > len(lines) {
			return nil, errf(Invalid, "line %d: cannot place a decrypted value", n.Line)
		}
		line := lines[n.Line-1]
		start := max(0, min(len(line), n.Column-1))
		i := bytes.Index(line[start:], []byte(n.Value))
		if i < 0 {
			i = bytes.Index(line, []byte(n.Value)) // the column counts runes
			start = 0
		}
		if i < 0 || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return nil, errf(Invalid, "line %d: an encrypted value must be a one-line scalar", n.Line)
		}
		at, end := start+i, start+i+len(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && at > 0 && end < len(line) {
			at, end = at-1, end+1
		}
		byLine[n.Line-1] = append(byLine[n.Line-1], edit{at, end, text})
	}
	var out bytes.Buffer
	out.Grow(len(data) + len(data)/4)
	for i, line := range lines {
		es := byLine[i]
		slices.SortFunc(es, func(a, b edit) int { return a.at - b.at })
		prev := 0
		for _, e := range es {
			if e.at < prev {
				return nil, errf(Invalid, "line %d: overlapping encrypted values", i+1)
			}
			out.Write(line[prev:e.at])
			out.WriteString(e.text)
			prev = e.end
		}
		out.Write(line[prev:])
	}
	return out.Bytes(), nil
}

// Encrypt encrypts a plain YAML file for age recipients ("age1...") as
// sops does: a fresh data key encrypted for each recipient, each value
// under a key matching encryptedRegex ("" encrypts every value) sealed
// with AES-256-GCM bound to its path, a MAC over all values, and the sops
// block added to every document.
func Encrypt(plain []byte, recipients []string, encryptedRegex string, now time.Time) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("no age recipient")
	}
	var recips []age.Recipient
	for _, r := range recipients {
		rs, err := age.ParseRecipients(strings.NewReader(r))
		if err != nil || len(rs) != 1 {
			return nil, fmt.Errorf("age recipient %q: not an age public key (age1...)", r)
		}
		recips = append(recips, rs...)
	}
	f := &file{meta: metadata{EncryptedRegex: encryptedRegex, Version: FormatVersion}}
	if encryptedRegex == "" {
		f.meta.UnencryptedSuffix = "_unencrypted" // sops's default rule
	}
	var err error
	if f.rules, err = f.meta.rules(); err != nil {
		return nil, err
	}
	f.docs = documents(plain)
	if len(f.docs) == 0 {
		return nil, errors.New("no YAML document to encrypt")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	h := sha512.New()
	err = f.walk(func(n *yaml.Node, v any, path []string) error {
		b, err := macBytes(v)
		if err != nil {
			return err
		}
		h.Write(b)
		if !f.rules.encrypted(path) {
			return nil
		}
		s, err := encryptValue(v, key, strings.Join(path, ":")+":")
		if err != nil {
			return err
		}
		n.Kind, n.Tag, n.Style, n.Value = yaml.ScalarNode, "!!str", 0, s
		return nil
	})
	if err != nil {
		return nil, err
	}
	lm := now.UTC().Truncate(time.Second)
	f.meta.LastModified = lm.Format(time.RFC3339)
	if f.meta.MAC, err = encryptValue(fmt.Sprintf("%X", h.Sum(nil)), key, f.meta.LastModified); err != nil {
		return nil, err
	}
	for i, r := range recips {
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(key); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		f.meta.Age = append(f.meta.Age, ageKey{Recipient: recipients[i], Enc: buf.String()})
	}
	var md yaml.Node
	if err := md.Encode(&f.meta); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(4) // as sops writes
	for _, d := range f.docs {
		if d.Kind == yaml.DocumentNode && len(d.Content) == 1 && d.Content[0].Kind == yaml.MappingNode {
			top := d.Content[0]
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: MetadataKey}, &md)
		}
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
