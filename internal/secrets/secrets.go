// Package secrets opens encrypted manifests for file mode: SOPS files
// whose data key is encrypted for age (internal/secrets/sops) and Bitnami
// SealedSecret objects (internal/secrets/sealed). Everything decrypted
// stays in memory, in the objects handed to the store: no message of this
// package quotes a value, and the keys are read from their files on each
// use so that a rotated or restored key file takes effect at once.
package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"filippo.io/age"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/secrets/sealed"
	"github.com/moat-ingress/moat/internal/secrets/sops"
	"github.com/moat-ingress/moat/internal/store"
)

// Diagnostic codes (docs/diagnostics.md, "Encrypted manifests").
const (
	ReasonSOPSKeyMissing          = "SOPSKeyMissing"
	ReasonSOPSKeyMismatch         = "SOPSKeyMismatch"
	ReasonSOPSMACMismatch         = "SOPSMACMismatch"
	ReasonSOPSInvalid             = "SOPSInvalid"
	ReasonSealedSecretKeyMissing  = "SealedSecretKeyMissing"
	ReasonSealedSecretKeyMismatch = "SealedSecretKeyMismatch"
	ReasonSealedSecretInvalid     = "SealedSecretInvalid"
	ReasonSealedSecretTemplate    = "SealedSecretTemplateIgnored"
)

// EnvAgeKeyFile is the variable sops reads its age key file from.
const EnvAgeKeyFile = "SOPS_AGE_KEY_FILE"

// Opener decrypts the encrypted manifests of file mode. The zero value
// opens nothing and reports every encrypted file as lacking a key.
type Opener struct {
	// AgeKeyFile holds age identities (age-keygen's format), as sops
	// reads SOPS_AGE_KEY_FILE.
	AgeKeyFile string
	// SealingKeyFile holds the PEM private key(s) of a sealed-secrets
	// controller.
	SealingKeyFile string
}

// KeyFiles are the key files named; a change to one can open files that
// did not open before.
func (o *Opener) KeyFiles() []string {
	var out []string
	for _, f := range []string{o.AgeKeyFile, o.SealingKeyFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Decrypt decodes an encrypted manifest file. handled is false for a file
// with neither SOPS metadata nor a SealedSecret (decode it as usual). lost
// reports that some of its content could not be opened, so that the file
// source keeps its last good content.
func (o *Opener) Decrypt(path string, data []byte) (objs []store.Object, diags []diag.Diagnostic, handled, lost bool) {
	isSOPS, isSealed := sops.IsEncrypted(data), sealed.Mentions(data)
	if !isSOPS && !isSealed {
		return nil, nil, false, false
	}
	at := func(line int) diag.ObjectRef { return diag.ObjectRef{Origin: diag.Origin{File: path, Line: line}} }
	if isSOPS {
		plain, d := o.openSOPS(path, data)
		if plain == nil {
			return nil, []diag.Diagnostic{d}, true, true
		}
		data = plain
		isSealed = sealed.Mentions(data)
	}
	objs, diags = k8s.Decode(data, path)
	var sealedDocs []sealed.Doc
	if isSealed {
		sealedDocs = sealed.Find(data)
	}
	// The sops block is not a field of any kind; SealedSecrets are read
	// below.
	out := diags[:0]
	for _, d := range diags {
		if isSOPS && d.Reason == k8s.ReasonUnknownField && d.Field == sops.MetadataKey {
			continue
		}
		if len(sealedDocs) > 0 && d.Reason == k8s.ReasonUnknownKind && d.Object.Kind == sealed.Kind {
			continue
		}
		out = append(out, d)
	}
	diags = out
	if len(sealedDocs) == 0 {
		return objs, diags, true, false
	}
	keys, keyErr := o.sealingKeys()
	for _, sd := range sealedDocs {
		ref := at(sd.Line)
		ref.Kind = sealed.Kind
		if sd.Object != nil {
			ref.Namespace, ref.Name = sd.Object.Namespace, sd.Object.Name
			if ref.Namespace == "" {
				ref.Namespace = k8s.DefaultNamespace
			}
		}
		fail := func(reason, msg, hint string) {
			lost = true
			diags = append(diags, diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: reason, Message: msg, Hint: hint})
		}
		if sd.Err != nil {
			fail(ReasonSealedSecretInvalid, sd.Err.Error(), "")
			continue
		}
		if keyErr != nil {
			fail(ReasonSealedSecretKeyMissing, "cannot unseal: "+keyErr.Error()+"; the Secret is left out",
				"give the sealing key pair's private key with --sealed-secrets-key (kubectl get secret -n kube-system -l sealedsecrets.bitnami.com/sealed-secrets-key -o jsonpath='{.items[*].data.tls\\.key}' | base64 -d)")
			continue
		}
		sec, warns, err := sealed.Unseal(sd.Object, keys, k8s.DefaultNamespace)
		if err != nil {
			reason := ReasonSealedSecretInvalid
			var se *sealed.Error
			if errors.As(err, &se) && se.Kind == sealed.NoMatchingKey {
				reason = ReasonSealedSecretKeyMismatch
			}
			fail(reason, "cannot unseal: "+err.Error()+"; the Secret is left out", "")
			continue
		}
		for _, w := range warns {
			diags = append(diags, diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: ReasonSealedSecretTemplate, Field: "spec.template.data", Message: w})
		}
		objs = append(objs, store.Object{Obj: sec, Origin: diag.Origin{File: path, Line: sd.Line}})
	}
	return objs, diags, true, lost
}

// openSOPS returns the decrypted text, or nil and the diagnostic.
func (o *Opener) openSOPS(path string, data []byte) ([]byte, diag.Diagnostic) {
	d := diag.Diagnostic{Object: diag.ObjectRef{Origin: diag.Origin{File: path}}, Severity: diag.Error}
	ids, err := o.ageIdentities()
	if err != nil {
		d.Reason = ReasonSOPSKeyMissing
		d.Message = fmt.Sprintf("%s is encrypted with sops and cannot be decrypted: %v", path, err)
		d.Hint = "give the age key file with --sops-age-key-file or " + EnvAgeKeyFile + " (age-keygen -o keys.txt; the file's public key must be a recipient)"
		return nil, d
	}
	plain, err := sops.Decrypt(data, ids)
	if err == nil {
		return plain, d
	}
	d.Reason, d.Message = ReasonSOPSInvalid, fmt.Sprintf("%s: cannot decrypt with sops: %v", path, err)
	var se *sops.Error
	if errors.As(err, &se) {
		switch se.Kind {
		case sops.NoMatchingKey:
			d.Reason = ReasonSOPSKeyMismatch
			d.Hint = "add the key file's public key as a recipient (sops updatekeys, or sops -r -i --add-age RECIPIENT FILE), or give the right --sops-age-key-file"
		case sops.MACMismatch:
			d.Reason = ReasonSOPSMACMismatch
			d.Hint = "edit encrypted files with `sops FILE` (it recomputes the MAC), or restore the file from version control"
		}
	}
	return nil, d
}

// ageIdentities reads the age key file.
func (o *Opener) ageIdentities() ([]age.Identity, error) {
	if o.AgeKeyFile == "" {
		return nil, errors.New("no age key file given (--sops-age-key-file or " + EnvAgeKeyFile + ")")
	}
	b, err := os.ReadFile(o.AgeKeyFile)
	if err != nil {
		return nil, fmt.Errorf("age key file: %w", err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		// age's parse errors do not quote the key.
		return nil, fmt.Errorf("age key file %s: %v", o.AgeKeyFile, err)
	}
	return ids, nil
}

// sealingKeys reads the sealing key file.
func (o *Opener) sealingKeys() (sealed.Keys, error) {
	if o.SealingKeyFile == "" {
		return nil, errors.New("no sealing key given (--sealed-secrets-key)")
	}
	b, err := os.ReadFile(o.SealingKeyFile)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	keys, err := sealed.ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("sealing key %s: %v", o.SealingKeyFile, err)
	}
	return keys, nil
}
