// Package certkit holds the certificate handling shared by lint's
// certificate checks and the `moat secret tls` and `moat cert new`
// commands: PEM parsing, key matching, chain ordering, weakness checks and
// a small local CA. It uses only the standard library's crypto.
package certkit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MinRSABits is the smallest RSA key considered strong: NIST SP 800-131A
// and the CA/Browser Forum baseline requirements disallow smaller ones.
const MinRSABits = 2048

// ParseCertificates reads every CERTIFICATE block of a PEM bundle, in order.
// Other blocks are skipped; a bundle without any certificate is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, der := range PEMBlocks(data, "CERTIFICATE") {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New(noPEM(data, "CERTIFICATE"))
	}
	return out, nil
}

// PEMBlocks returns the contents of data's PEM blocks of type typ, in
// order, skipping every other block.
func PEMBlocks(data []byte, typ string) [][]byte {
	var out [][]byte
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		if b.Type == typ {
			out = append(out, b.Bytes)
		}
	}
}

// ParsePrivateKey reads the first private key block (PKCS #1, PKCS #8 or
// SEC 1) and returns it with the block as found, so that callers can write
// the key back unchanged.
func ParsePrivateKey(data []byte) (crypto.Signer, *pem.Block, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, nil, errors.New(noPEM(data, "PRIVATE KEY"))
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return nil, nil, errors.New("the private key is encrypted; decrypt it first (openssl pkey -in KEY -out KEY.plain)")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		k, err := parseKeyDER(b.Bytes)
		if err != nil {
			return nil, nil, err
		}
		return k, b, nil
	}
}

func parseKeyDER(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("the private key is not PKCS #1, PKCS #8 or SEC 1 DER")
}

// noPEM explains the commonest reasons a file has no PEM block of a type.
func noPEM(data []byte, typ string) string {
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return "the file is empty"
	case bytes.HasPrefix(t, []byte("LS0tLS1CRUdJT")):
		return "the content is base64-encoded PEM; decode it once (base64 -d) first"
	case bytes.Contains(t, []byte("-----BEGIN")):
		return fmt.Sprintf("no %s block found", typ)
	case len(t) > 0 && t[0] == 0x30:
		return "the content is DER, not PEM; convert it (openssl x509 -inform der, or openssl pkey -inform der)"
	}
	return fmt.Sprintf("no PEM %s block found (expected -----BEGIN %s-----)", typ, typ)
}

// KeyMatches reports whether pub is the public key of cert.
func KeyMatches(cert *x509.Certificate, pub crypto.PublicKey) bool {
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

// IssuedBy reports whether parent issued child: names and key identifiers
// match and parent's key verifies child's signature. A signature that only
// fails because its algorithm is insecure (SHA-1) still counts: ordering is
// not the place to reject it, Weaknesses reports it.
func IssuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 && !bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId) {
		return false
	}
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	var insecure x509.InsecureAlgorithmError
	return err == nil || errors.As(err, &insecure)
}

// SelfSigned reports whether c issued itself (a root).
func SelfSigned(c *x509.Certificate) bool { return IssuedBy(c, c) }

// OrderChain builds the chain that starts at leaf from the certificates in
// pool: leaf, then its issuer, then that one's issuer, stopping at a root
// or when no issuer is found. Roots are left out: servers need not send
// them, and clients must already trust them. unused are the certificates
// of pool that are neither in the chain nor a root of it.
func OrderChain(leaf *x509.Certificate, pool []*x509.Certificate) (chain []*x509.Certificate, root *x509.Certificate, unused []*x509.Certificate) {
	used := map[*x509.Certificate]bool{}
	chain = []*x509.Certificate{leaf}
	for _, c := range pool {
		if c.Equal(leaf) {
			used[c] = true
		}
	}
	cur := leaf
	for !SelfSigned(cur) && len(chain) <= len(pool) {
		var next *x509.Certificate
		for _, c := range pool {
			if !used[c] && !c.Equal(cur) && IssuedBy(cur, c) {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		used[next] = true
		if SelfSigned(next) {
			root = next
			break
		}
		chain = append(chain, next)
		cur = next
	}
	for _, c := range pool {
		if !used[c] {
			unused = append(unused, c)
		}
	}
	return chain, root, unused
}

// ChainOrderProblem describes why a bundle as served (leaf first) is not
// in issuing order, or returns "" when each certificate is followed by
// its issuer. A trailing root is allowed.
func ChainOrderProblem(certs []*x509.Certificate) string {
	for i := 0; i+1 < len(certs); i++ {
		if !IssuedBy(certs[i], certs[i+1]) {
			return fmt.Sprintf("certificate %d (%s) is followed by certificate %d (%s), which did not issue it",
				i+1, Name(certs[i]), i+2, Name(certs[i+1]))
		}
	}
	return ""
}

// Weakness is one reason clients may refuse a certificate.
type Weakness struct {
	// Kind is "key" or "signature".
	Kind    string
	Message string
}

// Weaknesses reports weak keys and signature algorithms. Go's TLS client
// and current browsers refuse SHA-1 and MD5 signatures; RSA keys under
// 2048 bits fail CA/Browser Forum rules and some clients.
func Weaknesses(c *x509.Certificate) []Weakness {
	var out []Weakness
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits {
			out = append(out, Weakness{"key", fmt.Sprintf("%s has a %d-bit RSA key; use at least %d bits (or ECDSA P-256)", Name(c), n, MinRSABits)})
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < 256 {
			out = append(out, Weakness{"key", fmt.Sprintf("%s has a %d-bit ECDSA key; use P-256 or larger", Name(c), n)})
		}
	case ed25519.PublicKey:
	}
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		// A root's own signature is never checked by clients.
		if !SelfSigned(c) || !c.IsCA {
			out = append(out, Weakness{"signature", fmt.Sprintf("%s is signed with %s, which clients reject; reissue it with SHA-256", Name(c), c.SignatureAlgorithm)})
		}
	}
	return out
}

// Name describes a certificate briefly: its first DNS name or its subject.
func Name(c *x509.Certificate) string {
	switch {
	case len(c.DNSNames) > 0 && !c.IsCA:
		return fmt.Sprintf("%q", c.DNSNames[0])
	case c.Subject.CommonName != "":
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("%q", c.Subject.String())
}

// EncodeCertificates writes certificates as a PEM bundle.
func EncodeCertificates(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}
