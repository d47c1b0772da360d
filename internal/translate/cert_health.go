package translate

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/certkit"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
)

// Certificate checks beyond "does it load and cover the host": problems
// that moat serves through but that make clients refuse the connection, and
// a precise reason when a key pair does not load. Kept apart from tls.go so
// that the selection logic there stays short.

const chainOrderHint = "put the server certificate first, then each intermediate followed by the one that issued it; leave the root out " +
	"(moat secret tls orders the chain for you)"

// certHealth reports, once per loaded Secret, chains out of order and weak
// keys or signatures. The findings belong to the Secret, not to each
// Ingress or host that uses it.
func (t *translator) certHealth() {
	refs := make([]string, 0, len(t.cfg.Certificates))
	for ref := range t.cfg.Certificates {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		c := t.cfg.Certificates[ref]
		ns, name, _ := strings.Cut(ref, "/")
		obj := t.sn.Ref(store.KindSecret, ns, name)
		h := t.certs.health(c.Cert)
		if msg := h.order; msg != "" {
			t.add(diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "TLSCertificateChainOrder", Field: "data.tls.crt",
				Message: "tls.crt is not in chain order: " + msg + "; some clients fail to verify it",
				Hint:    chainOrderHint})
		}
		for _, weak := range h.weak {
			for _, w := range weak {
				reason := "TLSCertificateWeakKey"
				if w.Kind == "signature" {
					reason = "TLSCertificateWeakSignature"
				}
				t.add(diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: reason, Field: "data.tls.crt",
					Message: "certificate in tls.crt: " + w.Message + "; still served",
					Hint:    "issue a new certificate with an ECDSA P-256 or RSA 2048+ key and a SHA-256 signature"})
			}
		}
	}
}

// certFindings are the health findings of one parsed key pair.
type certFindings struct {
	order string               // certkit.ChainOrderProblem
	weak  [][]certkit.Weakness // per certificate of the chain
}

// health returns c's findings, memoised by the parsed pair (the cache
// hands out one *tls.Certificate per content): parsing 5,000 chains again
// on every translate was a tenth of its time.
func (c *CertCache) health(cert *tls.Certificate) certFindings {
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
	h.order = certkit.ChainOrderProblem(chain)
	for _, x := range chain {
		h.weak = append(h.weak, certkit.Weaknesses(x))
	}
	c.mu.Lock()
	c.findings.put(cert, h)
	c.mu.Unlock()
	return h
}

// explainKeyPair sharpens a TLSSecretInvalid diagnostic about Secret ref:
// a key that belongs to a later certificate of tls.crt means the chain is
// in the wrong order; a key that belongs to none is a mismatch; base64
// inside the data means it was encoded twice.
func (t *translator) explainKeyPair(d *diag.Diagnostic, ref string) {
	sec, ok := t.sn.Secrets[ref]
	if !ok || d.Reason != "TLSSecretInvalid" {
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
			d.Hint = chainOrderHint
			return
		}
	}
	d.Reason = "TLSKeyMismatch"
	d.Message = fmt.Sprintf("secret %s: tls.key is not the private key of the certificate in tls.crt (%s); its hosts get the default certificate",
		ref, certkit.Name(certs[0]))
	d.Hint = "put the key that was generated with this certificate in tls.key; `moat secret tls NAME --cert FILE --key FILE` checks the pair before writing the Secret"
}
