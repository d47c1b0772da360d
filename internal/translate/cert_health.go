package translate

import (
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/certs"
)

// Certificate checks beyond "does it load and cover the host": problems
// that moat serves through but that make clients refuse the connection, and
// a precise reason when a key pair does not load. Kept apart from tls.go so
// that the selection logic there stays short.

// certHealth reports, once per loaded Secret, chains out of order and weak
// keys or signatures. The findings belong to the Secret, not to each
// Ingress or host that uses it.
func (t *translator) certHealth() {
	refs := make([]string, 0, len(t.Config.Certificates))
	for ref := range t.Config.Certificates {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		c := t.Config.Certificates[ref]
		ns, name, _ := strings.Cut(ref, "/")
		obj := t.Snapshot.Ref(store.KindSecret, ns, name)
		h := t.Certs.Health(c.Cert)
		if msg := h.Order; msg != "" {
			t.Add(diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: "TLSCertificateChainOrder", Field: "data.tls.crt",
				Message: "tls.crt is not in chain order: " + msg + "; some clients fail to verify it",
				Hint:    certs.ChainOrderHint})
		}
		for _, weak := range h.Weak {
			for _, w := range weak {
				reason := "TLSCertificateWeakKey"
				if w.Kind == "signature" {
					reason = "TLSCertificateWeakSignature"
				}
				t.Add(diag.Diagnostic{Object: obj, Severity: diag.Warning, Reason: reason, Field: "data.tls.crt",
					Message: "certificate in tls.crt: " + w.Message + "; still served",
					Hint:    "issue a new certificate with an ECDSA P-256 or RSA 2048+ key and a SHA-256 signature"})
			}
		}
	}
}
