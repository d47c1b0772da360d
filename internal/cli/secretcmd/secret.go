// Package secretcmd is `moat secret tls`: a TLS Secret manifest from
// certificate and key files, checked as serve would check it, optionally
// SOPS-encrypted or sealed. It is apart from certcmd, which makes
// certificates rather than checking given ones.
package secretcmd

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/certkit"
	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/secrets/sealed"
	"github.com/moat-ingress/moat/internal/secrets/sops"
)

// expirySoon matches translate's TLSCertificateExpiringSoon threshold.
const expirySoon = 21 * 24 * time.Hour

func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Write Secret manifests (see moat secret tls)",
	}
	cmd.AddCommand(newTLSCmd())
	return cmd
}

// secretTLS is what `moat secret tls` takes.
type secretTLS struct {
	name, namespace       string
	certFile, keyFile, ca string
	hosts                 []string
	// encrypt lists "age:RECIPIENT" values (SOPS output); seal names a
	// sealed-secrets controller's certificate (SealedSecret output).
	encrypt     []string
	seal, scope string
}

func newTLSCmd() *cobra.Command {
	var s secretTLS
	cmd := &cobra.Command{
		Use:   "tls NAME --cert FILE --key FILE [--namespace NS] [--ca FILE]",
		Short: "Print a kubernetes.io/tls Secret for a certificate and key, after checking them",
		Long: `secret tls prints a kubernetes.io/tls Secret manifest holding FILE's
certificate chain and key, base64-encoded for you. Before writing it checks
that the key belongs to the certificate (and refuses otherwise), puts the
chain in order (server certificate, then each intermediate followed by its
issuer, root left out), and warns about expiry, weak keys and SHA-1
signatures.

--ca names a bundle of intermediate and root certificates used to complete
and verify the chain; a root found there is stored as ca.crt, as
cert-manager does. --host refuses a certificate that does not cover a host.

The Secret must live in the Ingress's namespace: an Ingress cannot use
Secrets of another namespace. The key is printed only inside the manifest.

--encrypt age:RECIPIENT writes the Secret encrypted with SOPS for that age
public key (data encrypted, kind and metadata readable, as sops does with
encrypted_regex ^(data|stringData)$): moat serve --sops-age-key-file, sops
and Flux open it. --seal CERT writes a Bitnami SealedSecret instead, sealed
with the controller's certificate (kubeseal --fetch-cert), in kubeseal's
strict scope unless --scope says otherwise. Either way the plain key never
reaches the file you commit (docs/secrets.md).`,
		Example: `  moat secret tls my-web-app-tls --cert cert.crt --key cert.key --namespace default > secret.yaml
  moat secret tls shop-tls --cert shop.crt --key shop.key --ca chain.pem --host shop.example.com | kubectl apply -f -
  moat secret tls web-tls --cert tls.crt --key tls.key -n shop --encrypt age:age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p > web-tls.sops.yaml
  moat secret tls web-tls --cert tls.crt --key tls.key -n shop --seal sealed-secrets.pem > web-tls.sealed.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s.name = args[0]
			return s.run(cmd.OutOrStdout(), cmd.ErrOrStderr(), time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.certFile, "cert", "", "PEM file with the server certificate (and optionally its intermediates, in any order)")
	f.StringVar(&s.keyFile, "key", "", "PEM file with the certificate's private key (PKCS #1, PKCS #8 or SEC 1, not encrypted)")
	f.StringVarP(&s.namespace, "namespace", "n", "", "metadata.namespace of the Secret: the Ingress's namespace (default: none, so kubectl's current namespace)")
	f.StringVar(&s.ca, "ca", "", "PEM bundle of intermediate and root certificates to complete and verify the chain")
	f.StringArrayVar(&s.hosts, "host", nil, "refuse the certificate unless it covers this host; repeatable")
	f.StringArrayVar(&s.encrypt, "encrypt", nil, "write the Secret encrypted with SOPS for this age recipient (age:age1...); repeatable")
	f.StringVar(&s.seal, "seal", "", "write a SealedSecret sealed with this sealed-secrets controller certificate (PEM, kubeseal --fetch-cert)")
	f.StringVar(&s.scope, "scope", "strict", "with --seal: strict, namespace-wide or cluster-wide (kubeseal's scopes)")
	cmd.MarkFlagsMutuallyExclusive("encrypt", "seal")
	_ = cmd.MarkFlagRequired("cert")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func (s *secretTLS) run(out, log io.Writer, now time.Time) error {
	if errs := validation.IsDNS1123Subdomain(s.name); len(errs) > 0 {
		return cli.Refuse("Secret name %q: %s", s.name, strings.Join(errs, "; "))
	}
	if s.namespace != "" {
		if errs := validation.IsDNS1123Label(s.namespace); len(errs) > 0 {
			return cli.Refuse("namespace %q: %s", s.namespace, strings.Join(errs, "; "))
		}
	}
	crtPEM, err := os.ReadFile(s.certFile)
	if err != nil {
		return cli.Refuse("--cert: %v", err)
	}
	certs, err := certkit.ParseCertificates(crtPEM)
	if err != nil {
		return cli.Refuse("--cert %s: %v", s.certFile, err)
	}
	keyPEM, err := os.ReadFile(s.keyFile)
	if err != nil {
		return cli.Refuse("--key: %v", err)
	}
	// Errors about the key never quote its content.
	key, keyBlock, err := certkit.ParsePrivateKey(keyPEM)
	if err != nil {
		return cli.Refuse("--key %s: %v", s.keyFile, err)
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if certkit.KeyMatches(c, key.Public()) {
			leaf = c
			break
		}
	}
	if leaf == nil {
		var names []string
		for _, c := range certs {
			names = append(names, certkit.Name(c))
		}
		return cli.Refuse("the key in %s does not match the certificate in %s (%s): they are not a pair; use the key generated with this certificate",
			s.keyFile, s.certFile, strings.Join(names, ", "))
	}
	var extra []*x509.Certificate
	if s.ca != "" {
		caPEM, err := os.ReadFile(s.ca)
		if err != nil {
			return cli.Refuse("--ca: %v", err)
		}
		if extra, err = certkit.ParseCertificates(caPEM); err != nil {
			return cli.Refuse("--ca %s: %v", s.ca, err)
		}
	}
	chain, root, unused := certkit.OrderChain(leaf, append(append([]*x509.Certificate(nil), certs...), extra...))
	warn := func(format string, a ...any) { fmt.Fprintf(log, "moat secret tls: warning: "+format+"\n", a...) }
	note := func(format string, a ...any) { fmt.Fprintf(log, "moat secret tls: "+format+"\n", a...) }

	for _, h := range s.hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return cli.Refuse("the certificate does not cover host %q (it covers %s)", h, covers(leaf))
		}
	}
	if reordered(certs, chain, root) {
		note("put tls.crt in chain order: %s", names(chain))
	}
	for _, c := range unused {
		if containsCert(certs, c) {
			warn("left out %s from %s: it is not part of the chain of %s", certkit.Name(c), s.certFile, certkit.Name(leaf))
		}
	}
	if root != nil && containsCert(certs, root) {
		note("left the root %s out of tls.crt: clients must already trust it", certkit.Name(root))
	}
	if s.ca != "" {
		roots := x509.NewCertPool()
		if root != nil {
			roots.AddCert(root)
		}
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil && root != nil {
			warn("the chain does not verify against %s: %v", s.ca, err)
		} else if root == nil {
			warn("%s holds no root certificate that issued this chain; clients will need it from elsewhere", s.ca)
		}
	}
	for _, c := range chain {
		switch {
		case now.After(c.NotAfter):
			warn("%s expired on %s", certkit.Name(c), c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			warn("%s is not valid before %s", certkit.Name(c), c.NotBefore.UTC().Format(time.RFC3339))
		case c.NotAfter.Sub(now) < expirySoon:
			warn("%s expires on %s", certkit.Name(c), c.NotAfter.UTC().Format(time.DateOnly))
		}
		for _, w := range certkit.Weaknesses(c) {
			warn("%s", w.Message)
		}
	}
	if s.namespace == "" && s.seal == "" {
		note("no --namespace: the Secret goes to the namespace you apply it in, which must be the Ingress's")
	}

	var caPEM []byte
	if root != nil {
		caPEM = certkit.EncodeCertificates([]*x509.Certificate{root})
	}
	crtOut, keyOut := certkit.EncodeCertificates(chain), pem.EncodeToMemory(keyBlock)
	manifest := secretManifest(s.name, s.namespace, leaf, crtOut, keyOut, caPEM)
	switch {
	case len(s.encrypt) > 0:
		b, err := s.encryptSOPS(manifest, now)
		if err != nil {
			return err
		}
		manifest = string(b)
	case s.seal != "":
		b, err := s.sealSecret(leaf, crtOut, keyOut, caPEM)
		if err != nil {
			return err
		}
		manifest = string(b)
	}
	_, err = io.WriteString(out, manifest)
	return err
}

// encryptSOPS encrypts the manifest as sops does for a Kubernetes Secret.
func (s *secretTLS) encryptSOPS(manifest string, now time.Time) ([]byte, error) {
	var recips []string
	for _, e := range s.encrypt {
		for _, r := range strings.Split(e, ",") {
			kind, rec, ok := strings.Cut(strings.TrimSpace(r), ":")
			if !ok || kind != "age" || rec == "" {
				return nil, cli.Refuse("--encrypt %q: give age:RECIPIENT (an age public key, age1...); moat encrypts for age only", r)
			}
			recips = append(recips, rec)
		}
	}
	b, err := sops.Encrypt([]byte(manifest), recips, sops.KubernetesEncryptedRegex, now)
	if err != nil {
		return nil, cli.Refuse("--encrypt: %v", err)
	}
	return b, nil
}

// sealSecret seals the Secret for the controller whose certificate
// s.seal names.
func (s *secretTLS) sealSecret(leaf *x509.Certificate, crt, key, ca []byte) ([]byte, error) {
	scope, err := sealed.ParseScope(s.scope)
	if err != nil {
		return nil, cli.Refuse("--scope: %v", err)
	}
	b, err := os.ReadFile(s.seal)
	if err != nil {
		return nil, cli.Refuse("--seal: %v", err)
	}
	certs, err := certkit.ParseCertificates(b)
	if err != nil {
		return nil, cli.Refuse("--seal %s: %v", s.seal, err)
	}
	pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, cli.Refuse("--seal %s: the certificate's key is not RSA: not a sealed-secrets controller certificate", s.seal)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
	if ca != nil {
		sec.Data["ca.crt"] = ca
	}
	out, err := sealed.Seal(sec, pub, scope)
	if err != nil {
		return nil, cli.Refuse("--seal: %v", err)
	}
	head := fmt.Sprintf("# %s, valid until %s, issued by %q (moat secret tls --seal, scope %s)\n", covers(leaf), leaf.NotAfter.UTC().Format(time.DateOnly), leaf.Issuer.CommonName, scope)
	return append([]byte(head), out...), nil
}

// secretManifest renders the Secret. The comment says what is inside, so
// that a reviewer need not decode it.
func secretManifest(name, namespace string, leaf *x509.Certificate, crt, key, ca []byte) string {
	enc := base64.StdEncoding.EncodeToString
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, valid until %s, issued by %q (moat secret tls)\n", covers(leaf), leaf.NotAfter.UTC().Format(time.DateOnly), leaf.Issuer.CommonName)
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n", name)
	if namespace != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", namespace)
	}
	b.WriteString("type: kubernetes.io/tls\ndata:\n")
	fmt.Fprintf(&b, "  tls.crt: %s\n  tls.key: %s\n", enc(crt), enc(key))
	if ca != nil {
		fmt.Fprintf(&b, "  ca.crt: %s\n", enc(ca))
	}
	return b.String()
}

func covers(c *x509.Certificate) string {
	var out []string
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		return "no host names (CN " + c.Subject.CommonName + " only, which clients ignore)"
	}
	return strings.Join(out, ", ")
}

func names(cs []*x509.Certificate) string {
	var out []string
	for _, c := range cs {
		out = append(out, certkit.Name(c))
	}
	return strings.Join(out, " -> ")
}

func containsCert(cs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range cs {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// reordered reports whether the input bundle lists the chain's
// certificates in another order than the chain.
func reordered(in, chain []*x509.Certificate, root *x509.Certificate) bool {
	prev := -1
	for _, c := range in {
		if root != nil && c.Equal(root) {
			continue
		}
		for i, x := range chain {
			if x.Equal(c) {
				if i < prev {
					return true
				}
				prev = i
			}
		}
	}
	return false
}
