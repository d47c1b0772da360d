// Package certcmd is `moat cert new`: a local CA and a certificate for
// trying HTTPS, with the commands that turn them into a Secret. It is
// apart from secretcmd, which checks and packages existing certificates.
package certcmd

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/certkit"
	"github.com/moat-ingress/moat/internal/cli"
)

func New() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Local certificates for testing (see moat cert new)",
	}
	cmd.AddCommand(newCertNewCmd())
	return cmd
}

// certNew is what `moat cert new` takes.
type certNew struct {
	hosts []string
	dir   string
	days  int
}

func newCertNewCmd() *cobra.Command {
	c := certNew{}
	cmd := &cobra.Command{
		Use:   "new --host NAME [--host NAME ...] [--out DIR] [--days N]",
		Short: "Create a certificate for hosts, signed by a local CA kept in DIR, for testing",
		Long: `cert new creates an ECDSA P-256 certificate and key for the hosts (DNS names,
wildcards such as *.example.test, or IP addresses), signed by a local CA. The
CA is created in DIR the first time (ca.crt, and ca.key readable only by
you) and reused afterwards, so clients trust every certificate it issues once
they trust DIR/ca.crt. It then prints the moat secret tls line that makes the
Secret and the curl line that reaches the host without -k.

For testing only: anyone with ca.key can impersonate any site to a client
that trusts ca.crt.`,
		Example: `  moat cert new --host my-web-app.com
  moat cert new --host shop.example.test --host '*.shop.example.test' --out certs --days 30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd.OutOrStdout(), time.Now())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&c.hosts, "host", nil, "a host the certificate is for; repeatable")
	f.StringVar(&c.dir, "out", "moat-certs", "directory for the local CA and the certificates")
	f.IntVar(&c.days, "days", 365, "validity of the certificate in days")
	_ = cmd.MarkFlagRequired("host")
	return cmd
}

func (c *certNew) run(out io.Writer, now time.Time) error {
	if c.days < 1 {
		return cli.Refuse("--days must be at least 1")
	}
	for _, h := range c.hosts {
		if net.ParseIP(h) != nil {
			continue
		}
		errs := validation.IsDNS1123Subdomain(strings.ToLower(h))
		if strings.HasPrefix(h, "*.") {
			errs = validation.IsWildcardDNS1123Subdomain(strings.ToLower(h))
		}
		if len(errs) > 0 {
			return cli.Refuse("--host %q is not a DNS name, wildcard or IP address: %s", h, strings.Join(errs, "; "))
		}
	}
	ca, created, err := certkit.LoadOrCreateCA(c.dir, rand.Reader, now)
	if err != nil {
		return cli.Refuse("%v", err)
	}
	leaf, err := ca.Issue(rand.Reader, c.hosts, now, time.Duration(c.days)*24*time.Hour)
	if err != nil {
		return err
	}
	base := fileBase(c.hosts[0])
	crtPath, keyPath := filepath.Join(c.dir, base+".crt"), filepath.Join(c.dir, base+".key")
	if err := os.WriteFile(crtPath, leaf.CertPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, leaf.KeyPEM, 0o600); err != nil {
		return err
	}
	caPath := filepath.Join(c.dir, certkit.CACertFile)
	if created {
		fmt.Fprintf(out, "Created a local CA in %s: trust %s in your clients (keep %s private).\n", c.dir, caPath, filepath.Join(c.dir, certkit.CAKeyFile))
	} else {
		fmt.Fprintf(out, "Reused the local CA in %s.\n", c.dir)
	}
	fmt.Fprintf(out, "Created %s and %s for %s, valid until %s.\n\n", crtPath, keyPath, strings.Join(c.hosts, ", "), leaf.Cert.NotAfter.UTC().Format(time.DateOnly))
	secret := secretName(c.hosts[0])
	fmt.Fprintf(out, "Make the Secret (in your Ingress's namespace; its tls entry says secretName: %s):\n", secret)
	fmt.Fprintf(out, "  moat secret tls %s --cert %s --key %s --ca %s > %s.yaml\n\n", secret, crtPath, keyPath, caPath, secret)
	host := strings.Replace(c.hosts[0], "*", "www", 1)
	fmt.Fprintf(out, "Then, with moat serve listening on 127.0.0.1:8443:\n")
	fmt.Fprintf(out, "  curl --cacert %s --resolve %s:8443:127.0.0.1 https://%s:8443/\n", caPath, host, urlHost(host))
	return nil
}

// fileBase names a certificate's files after its first host:
// "*.example.test" becomes "_wildcard.example.test", as mkcert does.
func fileBase(host string) string {
	return strings.NewReplacer("*", "_wildcard", ":", "_").Replace(host)
}

// secretName turns a host into a valid Secret name: "my-web-app.com" →
// "my-web-app-com-tls".
func secretName(host string) string {
	n := strings.NewReplacer("*.", "wildcard-", ".", "-", ":", "-").Replace(strings.ToLower(host))
	n = strings.Trim(n, "-")
	if len(n) > 240 {
		n = n[:240]
	}
	return n + "-tls"
}

func urlHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}
