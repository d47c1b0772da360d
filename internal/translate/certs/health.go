package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/certkit"
	"github.com/moat-ingress/moat/internal/diag"
)

// ChainOrderHint is the hint of every chain-order diagnostic.
const ChainOrderHint = "put the server certificate first, then each intermediate followed by the one that issued it; leave the root out " +
	"(moat secret tls orders the chain for you)"

// Findings are the health findings of one parsed key pair.
type Findings struct {
	Order string               // certkit.ChainOrderProblem
	Weak  [][]certkit.Weakness // per certificate of the chain
}

// Health returns c's findings, memoised by the parsed pair (the cache
// hands out one *tls.Certificate per content): parsing 5,000 chains again
// on every translate was a tenth of its time.
func (c *Cache) Health(cert *tls.Certificate) Findings {
	c.mu.Lock()
	h, ok := c.findings.get(cert)
	c.mu.Unlock()
	if ok {
		return h
	}
	var chain []*x509.Certificate
	for _, der := range cert.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			break // tls.X509KeyPair parsed the leaf; later ones are the client's problem
		}
		chain = append(chain, x)
	}
	h.Order = certkit.ChainOrderProblem(chain)
	for _, x := range chain {
		h.Weak = append(h.Weak, certkit.Weaknesses(x))
	}
	c.mu.Lock()
	c.findings.put(cert, h)
	c.mu.Unlock()
	return h
}

// ExplainKeyPair sharpens a TLSSecretInvalid diagnostic about Secret ref
// (sec, nil when it is missing):
// a key that belongs to a later certificate of tls.crt means the chain is
// in the wrong order; a key that belongs to none is a mismatch; base64
// inside the data means it was encoded twice.
func ExplainKeyPair(d *diag.Diagnostic, ref string, sec *corev1.Secret) {
	if sec == nil || d.Reason != "TLSSecretInvalid" {
		return
	}
	crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
	certs, errC := certkit.ParseCertificates(crt)
	signer, _, errK := certkit.ParsePrivateKey(key)
	switch {
	case errC != nil && len(crt) > 0:
		d.Hint = "tls.crt: " + errC.Error()
		return
	case errK != nil && len(key) > 0:
		d.Hint = "tls.key: " + errK.Error()
		return
	case errC != nil || errK != nil:
		return
	}
	if certkit.KeyMatches(certs[0], signer.Public()) {
		return
	}
	for i, c := range certs[1:] {
		if certkit.KeyMatches(c, signer.Public()) {
			d.Reason = "TLSCertificateChainOrder"
			d.Message = fmt.Sprintf("secret %s: tls.key belongs to certificate %d of tls.crt (%s), but the server certificate must come first; its hosts get the default certificate",
				ref, i+2, certkit.Name(c))
			d.Hint = ChainOrderHint
			return
		}
	}
	d.Reason = "TLSKeyMismatch"
	d.Message = fmt.Sprintf("secret %s: tls.key is not the private key of the certificate in tls.crt (%s); its hosts get the default certificate",
		ref, certkit.Name(certs[0]))
	d.Hint = "put the key that was generated with this certificate in tls.key; `moat secret tls NAME --cert FILE --key FILE` checks the pair before writing the Secret"
}

// CommonNameCovers is ingress-nginx's legacy check (certificate.go
// verifyHostname): a certificate without DNS names covers host when its
// Common Name matches it label by label, "*" standing for one first label.
func CommonNameCovers(c *x509.Certificate, host string) bool {
	if len(c.DNSNames) > 0 { // Ingress hosts are never IP addresses
		return false
	}
	pattern := strings.TrimSuffix(strings.ToLower(c.Subject.CommonName), ".")
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if pattern == "" || host == "" {
		return false
	}
	pp, hp := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pp) != len(hp) {
		return false
	}
	for i, p := range pp {
		if i == 0 && p == "*" {
			continue
		}
		if p != hp[i] {
			return false
		}
	}
	return true
}

// Coverage lists the names a certificate covers, for messages.
func Coverage(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, "CN "+c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}

// ParseCRLs reads PEM "X509 CRL" blocks, or one DER list.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	for _, der := range certkit.PEMBlocks(data, "X509 CRL") {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		l, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("no PEM X509 CRL block and not a DER CRL")
		}
		out = append(out, l)
	}
	return out, nil
}

// SecretDigest identifies a Secret's content.
func SecretDigest(sec *corev1.Secret) [32]byte {
	keys := make([]string, 0, len(sec.Data))
	for k := range sec.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(sec.Data[k])
		h.Write([]byte{0})
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}
