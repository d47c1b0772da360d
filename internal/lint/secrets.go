package lint

import (
	"bytes"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/secrets"
	"github.com/moat-ingress/moat/internal/store"
)

// ReasonPlainPrivateKey: a Secret in a manifest file holds a private key
// in plain text (base64 is an encoding): the blog post moat grew from ends
// on this warning.
const ReasonPlainPrivateKey = "PlainPrivateKey"

// decode decodes one file as serve would: encrypted files through the
// opener (with the keys given), the rest with the manifest decoder, whose
// Secrets are then checked for plain private keys.
func (r *Result) decode(name string, data []byte, opts Options) ([]store.Object, []diag.Diagnostic) {
	op := &secrets.Opener{AgeKeyFile: opts.SOPSAgeKeyFile, SealingKeyFile: opts.SealedSecretsKey}
	if objs, diags, handled, _ := op.Decrypt(name, data); handled {
		// Without a key flag lint cannot look inside, which is the
		// point of encrypting (a CI job rarely holds the key): say so
		// as info, not as the error serve gives.
		for i, d := range diags {
			if d.Reason == secrets.ReasonSOPSKeyMissing && opts.SOPSAgeKeyFile == "" ||
				d.Reason == secrets.ReasonSealedSecretKeyMissing && opts.SealedSecretsKey == "" {
				diags[i].Severity = diag.Info
				diags[i].Message += " (moat lint: not checked)"
			}
		}
		return objs, diags
	}
	objs, diags := k8s.Decode(data, name)
	return objs, append(diags, plainKeys(objs)...)
}

// plainKeys warns about each PEM private key in a Secret's data (the
// decoder has merged stringData into it).
func plainKeys(objs []store.Object) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, o := range objs {
		s, ok := o.Obj.(*corev1.Secret)
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(s.Data)) {
			if !isPlainPEMKey(s.Data[k]) {
				continue
			}
			out = append(out, diag.Diagnostic{
				Object:   diag.ObjectRef{Kind: store.KindSecret, Namespace: s.Namespace, Name: s.Name, Origin: o.Origin},
				Severity: diag.Warning, Reason: ReasonPlainPrivateKey, Field: "data." + k,
				Message: k + " is a private key in plain text (base64 only encodes it): anyone who can read this file, or the repository it is committed to, can impersonate the host",
				Hint: "encrypt the Secret: `moat secret tls NAME --cert FILE --key FILE --encrypt age:age1...` (SOPS, opened by moat serve --sops-age-key-file and by Flux) " +
					"or `--seal CERT` (a SealedSecret); or let cert-manager create the Secret in the cluster; see docs/secrets.md",
			})
		}
	}
	return out
}

// isPlainPEMKey reports a PEM private key block that is not
// password-protected ("ENCRYPTED PRIVATE KEY").
func isPlainPEMKey(b []byte) bool {
	for rest := b; ; {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			return false
		}
		rest = rest[i+len("-----BEGIN "):]
		end := bytes.Index(rest, []byte("-----"))
		if end < 0 {
			return false
		}
		typ := string(rest[:end])
		if bytes.HasSuffix([]byte(typ), []byte("PRIVATE KEY")) && typ != "ENCRYPTED PRIVATE KEY" {
			return true
		}
	}
}
