package ingress

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/certs"
	"github.com/moat-ingress/moat/internal/translate/core"
	"github.com/moat-ingress/moat/internal/translate/policy"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// expiryWarning is how early an expiring certificate is reported.
const expiryWarning = 21 * 24 * time.Hour

// tlsEntries reports problems of the spec.tls list itself and returns the
// hosts it names.
func (t *Builder) tlsEntries(ing *networkingv1.Ingress) map[string]int {
	ref := t.Ref(ing)
	hosts := map[string]int{}
	var noSecret, noHosts []int
	for i, e := range ing.Spec.TLS {
		field := fmt.Sprintf("spec.tls[%d]", i)
		for j, h := range e.Hosts {
			if msg := validHost(h); msg != "" {
				t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "InvalidHost", Field: fmt.Sprintf("%s.hosts[%d]", field, j), Message: msg})
				continue
			}
			hosts[strings.ToLower(h)] = i
		}
		if e.SecretName == "" && len(e.Hosts) > 0 {
			noSecret = append(noSecret, i)
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSSecretNameMissing", Field: field + ".secretName",
				Message: fmt.Sprintf("tls entry for %s has no secretName: the hosts are served with the default certificate", strings.Join(e.Hosts, ", ")),
				Hint:    "add secretName: <a kubernetes.io/tls Secret in namespace " + ing.Namespace + "> to this entry"})
		}
		if e.SecretName != "" && len(e.Hosts) == 0 {
			noHosts = append(noHosts, i)
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSHostsMissing", Field: field + ".hosts",
				Message: fmt.Sprintf("tls entry with secretName %q lists no hosts: it is used only for rule hosts its certificate covers", e.SecretName),
				Hint:    "list the hosts the certificate is for under hosts: in this same entry"})
		}
		if e.SecretName == "" && len(e.Hosts) == 0 {
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSEntryEmpty", Field: field,
				Message: "tls entry has neither hosts nor secretName"})
		}
		if strings.Contains(e.SecretName, "/") {
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "TLSSecretCrossNamespace", Field: field + ".secretName",
				Message: fmt.Sprintf("secretName %q names another namespace: an Ingress can only use Secrets of its own namespace (%s)", e.SecretName, ing.Namespace)})
			continue
		}
		if e.SecretName != "" {
			_, sec, err := t.LoadSecret(ing.Namespace, e.SecretName)
			if err != nil {
				t.Add(t.secretDiag(ing, field+".secretName", e.SecretName, err))
			} else if sec.Type != corev1.SecretTypeTLS {
				t.Add(diag.Diagnostic{Object: t.Snapshot.Ref("Secret", sec.Namespace, sec.Name), Severity: diag.Info, Reason: "TLSSecretNotTLSType", Field: "type",
					Message: fmt.Sprintf("secret has type %q; it works, but kubernetes.io/tls lets the API server check the key pair", sec.Type),
					Hint:    "set type: kubernetes.io/tls (or create it with kubectl create secret tls)"})
			}
		}
	}
	if len(noSecret) == 1 && len(noHosts) == 1 {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSEntrySplit", Field: "spec.tls",
			Message: fmt.Sprintf("spec.tls[%d] has hosts and spec.tls[%d] has the secretName: they look like one entry split in two by a stray \"-\"", noSecret[0], noHosts[0]),
			Hint:    "write one list item: - hosts: [...]\n    secretName: ..."})
	}
	return hosts
}

func (t *Builder) secretDiag(ing *networkingv1.Ingress, field, name string, err error) diag.Diagnostic {
	d := diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Error, Field: field}
	if err == core.ErrNotFound {
		d.Reason = "TLSSecretNotFound"
		d.Message = fmt.Sprintf("tls secret %q not found in namespace %s: its hosts get the default certificate", name, ing.Namespace)
		d.Hint = resolve.SimilarName(resolve.SecretNames(t.Snapshot), ing.Namespace, name, "Secret")
		return d
	}
	d.Reason = "TLSSecretInvalid"
	d.Message = err.Error() + ": its hosts get the default certificate"
	certs.ExplainKeyPair(&d, ing.Namespace+"/"+name, t.Snapshot.Secrets[ing.Namespace+"/"+name])
	return d
}

// decideTLS gives a host its certificate the way ingress-nginx's
// createServers does: a tls entry listing the host; else any entry whose
// certificate covers the host; else the default certificate.
func (t *Builder) decideTLS(hb *hostBuilder, ing *networkingv1.Ingress, host string, ann policy.Set) {
	hb.tlsDecided = true
	hb.vh.TLS = true
	hb.vh.HSTS = t.Ctrl.HSTSValue()
	hb.vh.RedirectHTTPS = ann.SSL.SSLRedirect || ann.SSL.ForceSSLRedirect
	ref := t.Ref(ing)
	secret, field := "", ""
	for i, e := range ing.Spec.TLS {
		for _, h := range e.Hosts {
			if strings.EqualFold(h, host) {
				secret, field = e.SecretName, fmt.Sprintf("spec.tls[%d]", i)
				break
			}
		}
		if field != "" {
			break
		}
	}
	if field == "" {
		for i, e := range ing.Spec.TLS {
			if e.SecretName == "" || strings.Contains(e.SecretName, "/") {
				continue
			}
			c, _, err := t.LoadSecret(ing.Namespace, e.SecretName)
			if err == nil && c.Cert.Leaf.VerifyHostname(host) == nil {
				secret, field = e.SecretName, fmt.Sprintf("spec.tls[%d]", i)
				break
			}
		}
	}
	src := "ingress " + ing.Namespace + "/" + ing.Name + ": "
	if secret == "" || strings.Contains(secret, "/") {
		switch {
		case field == "":
			hb.vh.CertificateNote = src + "no tls entry lists the host and no tls secret's certificate covers it"
		case secret == "":
			hb.vh.CertificateNote = src + field + " lists the host without a secretName"
		default:
			hb.vh.CertificateNote = src + field + " names secret " + secret + " of another namespace"
		}
		// Reported by tlsEntries already when the entry lacks a secretName.
		if field == "" {
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSNoCertificateForHost", Field: "spec.tls",
				Message: fmt.Sprintf("no tls entry lists host %q and no tls secret's certificate covers it: served with the default certificate", host)})
		}
		return
	}
	c, _, err := t.LoadSecret(ing.Namespace, secret)
	if err != nil {
		if err == core.ErrNotFound {
			hb.vh.CertificateNote = src + "secret " + ing.Namespace + "/" + secret + " not found"
		} else {
			hb.vh.CertificateNote = src + err.Error()
		}
		return // reported by tlsEntries
	}
	leaf := c.Cert.Leaf
	if leaf.VerifyHostname(host) != nil && certs.CommonNameCovers(leaf, host) {
		// ingress-nginx still serves a certificate whose only name is its
		// Common Name (createServers' verifyHostname fallback); Go, and
		// browsers, no longer accept it.
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSCertificateCommonNameOnly", Field: field,
			Message: fmt.Sprintf("certificate in secret %s names host %q only in its Common Name, without a subjectAltName: served, as ingress-nginx does, but browsers and most clients reject it", c.Ref, host),
			Hint:    "reissue the certificate with the host in its subjectAltName (DNS names)"})
		hb.vh.Certificate = c.Ref
		t.validity(ref, field, c)
		return
	}
	if err := leaf.VerifyHostname(host); err != nil {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSCertificateHostMismatch", Field: field,
			Message: fmt.Sprintf("certificate in secret %s does not cover host %q (it covers %s): served with the default certificate", c.Ref, host, certs.Coverage(leaf))})
		hb.vh.CertificateNote = fmt.Sprintf("%scertificate in secret %s does not cover the host (it covers %s)", src, c.Ref, certs.Coverage(leaf))
		return
	}
	hb.vh.Certificate = c.Ref
	t.validity(ref, field, c)
}

// validity reports certificates that are served but will fail clients.
// ingress-nginx keeps serving them too; it only logs.
func (t *Builder) validity(ref diag.ObjectRef, field string, c *routecfg.Certificate) {
	if t.Opts.Now.IsZero() {
		return
	}
	leaf := c.Cert.Leaf
	switch {
	case t.Opts.Now.After(leaf.NotAfter):
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSCertificateExpired", Field: field,
			Message: fmt.Sprintf("certificate in secret %s expired on %s; still served", c.Ref, leaf.NotAfter.UTC().Format(time.RFC3339))})
	case t.Opts.Now.Before(leaf.NotBefore):
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSCertificateNotYetValid", Field: field,
			Message: fmt.Sprintf("certificate in secret %s is not valid before %s; still served", c.Ref, leaf.NotBefore.UTC().Format(time.RFC3339))})
	case leaf.NotAfter.Sub(t.Opts.Now) < expiryWarning:
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "TLSCertificateExpiringSoon", Field: field,
			Message: fmt.Sprintf("certificate in secret %s expires on %s", c.Ref, leaf.NotAfter.UTC().Format(time.RFC3339))})
	}
}

// tlsHostsNotInRules reports tls hosts that no rule of the Ingress serves:
// TLS only applies to hosts with rules (Ingress concept docs).
func (t *Builder) tlsHostsNotInRules(ing *networkingv1.Ingress, tlsHosts map[string]int) {
	rules := map[string]bool{}
	for _, r := range ing.Spec.Rules {
		rules[strings.ToLower(r.Host)] = true
	}
	names := make([]string, 0, len(tlsHosts))
	for h := range tlsHosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		if !rules[h] {
			t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Warning, Reason: "TLSHostNotInRules", Field: fmt.Sprintf("spec.tls[%d].hosts", tlsHosts[h]),
				Message: fmt.Sprintf("tls host %q matches no rule of this Ingress; TLS applies only to hosts that have rules", h)})
		}
	}
}

// DefaultCertificate loads --default-ssl-certificate, if set.
func (t *Builder) DefaultCertificate() {
	name := t.Opts.DefaultSSLCertificate
	if name == "" {
		return
	}
	ns, n, ok := strings.Cut(name, "/")
	if !ok || ns == "" || n == "" {
		t.Add(diag.Diagnostic{Object: diag.ObjectRef{Name: "--default-ssl-certificate"}, Severity: diag.Error, Reason: "DefaultCertificateInvalid",
			Message: fmt.Sprintf("%q is not namespace/name; using the generated certificate", name)})
		return
	}
	c, _, err := t.LoadSecret(ns, n)
	if err != nil {
		msg := err.Error()
		if err == core.ErrNotFound {
			msg = "secret " + name + " not found"
		}
		t.Add(diag.Diagnostic{Object: t.Snapshot.Ref("Secret", ns, n), Severity: diag.Error, Reason: "DefaultCertificateInvalid",
			Message: "--default-ssl-certificate: " + msg + "; using the generated certificate"})
		return
	}
	t.Config.DefaultCertificate = c
	t.validity(t.Snapshot.Ref("Secret", ns, n), "", c)
}
