package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/authtls"
	"github.com/moat-ingress/moat/internal/annotations/backendprotocol"
	"github.com/moat-ingress/moat/internal/annotations/passthrough"
	"github.com/moat-ingress/moat/internal/annotations/proxyssl"
	"github.com/moat-ingress/moat/internal/annotations/sslciphers"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/certs"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// caKey and crlKey are the Secret keys of CA certificates and of their
// revocation lists (ingress-nginx's).
const (
	caKey  = "ca.crt"
	crlKey = "ca.crl"
)

// TLS is what the TLS annotation families yield for one Ingress. The
// Secrets they name are loaded once per Ingress, on first use, so their
// diagnostics appear once.
type TLS struct {
	ing *networkingv1.Ingress
	// Auth, Passthrough and Ciphers are host-level: package ingress
	// applies them to the Ingress's hosts.
	Auth        *authtls.Config
	protocol    routecfg.BackendProtocol
	proxySSL    proxyssl.Config
	Passthrough bool
	Ciphers     []uint16

	clientAuth     *routecfg.ClientAuth
	clientAuthDone bool
	upstreamDone   bool
	upstreamErr    bool
	upstream       upstreamSecret
	upstreamByName map[string]*routecfg.UpstreamTLS // by service name
	suffixByName   map[string]string
	warnedNoTLS    bool
}

// upstreamSecret is the loaded proxy-ssl-secret.
type upstreamSecret struct {
	ref    string
	digest [32]byte
	cert   *routecfg.Certificate
	roots  *x509.CertPool
}

func (t *Extractor) tlsAnnotations(r *annotations.Reader, ing *networkingv1.Ingress) *TLS {
	return &TLS{
		ing:         ing,
		Auth:        authtls.Parse(r),
		protocol:    backendprotocol.Parse(r),
		proxySSL:    proxyssl.Parse(r),
		Passthrough: passthrough.Parse(r),
		Ciphers:     sslciphers.Parse(r),
	}
}

// ClientAuth loads auth-tls-secret's ca.crt. A Secret that cannot be used
// makes the host refuse HTTPS requests (403), as ingress-nginx's
// AuthTLSError does: serving without the check would drop access control.
func (t *Extractor) ClientAuth(a *TLS) *routecfg.ClientAuth {
	if a.clientAuthDone {
		return a.clientAuth
	}
	a.clientAuthDone = true
	ing := a.ing
	c := a.Auth
	ns := c.Namespace
	if ns == "" {
		ns = ing.Namespace
	}
	ca := &routecfg.ClientAuth{Secret: ns + "/" + c.Name, VerifyDepth: c.VerifyDepth, ErrorPage: c.ErrorPage,
		PassCertificate: c.PassCert, MatchCN: c.MatchCN}
	switch c.Mode {
	case "optional":
		ca.Mode = routecfg.VerifyOptional
	case "optional_no_ca":
		ca.Mode = routecfg.VerifyOptionalNoCA
	default:
		ca.Mode = routecfg.VerifyOn
	}
	a.clientAuth = ca
	field := "metadata.annotations." + t.AnnKey("auth-tls-secret")
	fail := func(reason, msg, hint string) *routecfg.ClientAuth {
		ca.Error = msg
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Error, Reason: reason, Field: field,
			Message: msg + ": HTTPS requests to the Ingress's hosts are refused with 403 (as ingress-nginx does)", Hint: hint})
		return ca
	}
	if ns != ing.Namespace {
		return fail("AuthTLSSecretCrossNamespace", fmt.Sprintf("auth-tls-secret %s is in another namespace; an Ingress may only use Secrets of its own namespace (%s)", ca.Secret, ing.Namespace), "")
	}
	sec, ok := t.Snapshot.Secrets[ca.Secret]
	if !ok {
		return fail("AuthTLSSecretNotFound", fmt.Sprintf("auth-tls-secret %s not found", ca.Secret), resolve.SimilarName(resolve.SecretNames(t.Snapshot), ns, c.Name, "Secret"))
	}
	pem := sec.Data[caKey]
	if len(pem) == 0 {
		return fail("AuthTLSSecretInvalid", fmt.Sprintf("secret %s has no %s", ca.Secret, caKey), "put the CA certificate(s) that sign client certificates under the key ca.crt")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fail("AuthTLSSecretInvalid", fmt.Sprintf("secret %s: %s holds no PEM certificate", ca.Secret, caKey), "")
	}
	ca.CAs = pool
	if crl := sec.Data[crlKey]; len(crl) > 0 {
		lists, err := certs.ParseCRLs(crl)
		if err != nil {
			return fail("AuthTLSSecretInvalid", fmt.Sprintf("secret %s: %s: %v", ca.Secret, crlKey, err), "put PEM \"X509 CRL\" blocks from the CA under ca.crl, or remove the key")
		}
		ca.CRLs = lists
	}
	return ca
}

// UpstreamFor returns the protocol and TLS client settings of a backend of
// the Ingress, and the suffix that makes its pool key distinct from the
// same Service port reached another way. Plain HTTP keeps the bare key.
func (t *Extractor) UpstreamFor(a *TLS, service, field string) (routecfg.BackendProtocol, *routecfg.UpstreamTLS, string) {
	if a == nil {
		return routecfg.ProtocolHTTP, nil, ""
	}
	if !a.protocol.TLS() {
		if a.proxySSL.Set() && !a.warnedNoTLS {
			a.warnedNoTLS = true
			t.Add(diag.Diagnostic{Object: t.Ref(a.ing), Severity: diag.Warning, Reason: "ProxySSLWithoutTLSBackend", Field: "metadata.annotations",
				Message: fmt.Sprintf("proxy-ssl-* annotations have no effect: backend-protocol is %s", a.protocol),
				Hint:    "set backend-protocol: HTTPS (or GRPCS) for TLS to the backend"})
		}
		if a.protocol == routecfg.ProtocolHTTP {
			return a.protocol, nil, ""
		}
		return a.protocol, nil, "#" + a.protocol.String()
	}
	t.loadUpstreamSecret(a)
	if u := a.upstreamByName[service]; u != nil {
		return a.protocol, u, a.suffixByName[service]
	}
	p := a.proxySSL
	if a.upstream.roots == nil {
		// ingress-nginx writes proxy_ssl_verify, _verify_depth,
		// _protocols and _ciphers only when the Secret has a ca.crt.
		if (p.Verify || p.VerifyDepth != 1 || p.MinVersion != 0 || p.CipherSuites != nil) && !a.upstreamErr {
			a.upstreamErr = true
			t.Add(diag.Diagnostic{Object: t.Ref(a.ing), Severity: diag.Warning, Reason: "ProxySSLVerifyWithoutCA", Field: "metadata.annotations." + t.AnnKey("proxy-ssl-secret"),
				Message: "proxy-ssl-verify, -verify-depth, -protocols and -ciphers have no effect: the proxy-ssl-secret has no ca.crt (ingress-nginx applies them only with one)",
				Hint:    "put the backend's CA in ca.crt of the proxy-ssl-secret"})
		}
		p.Verify, p.VerifyDepth, p.MinVersion, p.MaxVersion, p.CipherSuites = false, 1, 0, 0, nil
	}
	u := &routecfg.UpstreamTLS{
		Secret:       a.upstream.ref,
		Verify:       p.Verify,
		VerifyDepth:  p.VerifyDepth,
		Name:         p.SSLName,
		ServerName:   p.ServerName,
		MinVersion:   p.MinVersion,
		MaxVersion:   p.MaxVersion,
		CipherSuites: p.CipherSuites,
	}
	if u.Name == "" {
		// nginx verifies $proxy_host, which in ingress-nginx is the
		// meaningless "upstream_balancer"; the Service's DNS name is what a
		// backend certificate for it would carry.
		u.Name = service + "." + a.ing.Namespace + ".svc"
	}
	if a.upstream.cert != nil {
		u.ClientCert = a.upstream.cert.Cert
	}
	if p.Verify {
		u.RootCAs = a.upstream.roots
	}
	// The pool key names the settings and the Secret; the ID also covers
	// the Secret's content, so a rotated certificate gets a new transport
	// while the pool (and its endpoint state) stays.
	suffix := "#" + a.protocol.String() + "-" + upstreamID(a.protocol, u, sha256.Sum256([]byte(u.Secret)))[:12]
	u.ID = upstreamID(a.protocol, u, a.upstream.digest)
	if a.upstreamByName == nil {
		a.upstreamByName = map[string]*routecfg.UpstreamTLS{}
		a.suffixByName = map[string]string{}
	}
	a.upstreamByName[service] = u
	a.suffixByName[service] = suffix
	return a.protocol, u, suffix
}

// loadUpstreamSecret reads proxy-ssl-secret: tls.crt/tls.key for a client
// certificate and/or ca.crt to verify the backend.
func (t *Extractor) loadUpstreamSecret(a *TLS) {
	if a.upstreamDone || a.proxySSL.Name == "" {
		return
	}
	a.upstreamDone = true
	ing := a.ing
	ns := a.proxySSL.Namespace
	if ns == "" {
		ns = ing.Namespace
	}
	ref := ns + "/" + a.proxySSL.Name
	field := "metadata.annotations." + t.AnnKey("proxy-ssl-secret")
	bad := func(reason, msg string) {
		a.upstreamErr = true
		t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Error, Reason: reason, Field: field, Message: msg})
	}
	// A Secret in another namespace, missing or empty denies the paths;
	// auth.go (proxySSLSecretDenied) reports it.
	if ns != ing.Namespace {
		a.upstreamErr = true
		return
	}
	sec, ok := t.Snapshot.Secrets[ref]
	if !ok {
		a.upstreamErr = true
		return
	}
	a.upstream.ref = ref
	a.upstream.digest = certs.SecretDigest(sec)
	crt, key, caPEM := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey], sec.Data[caKey]
	if len(crt) == 0 && len(key) == 0 && len(caPEM) == 0 {
		a.upstreamErr = true
		return
	}
	if len(crt) > 0 || len(key) > 0 {
		if c, _, err := t.LoadSecret(ns, a.proxySSL.Name); err != nil {
			bad("ProxySSLSecretInvalid", fmt.Sprintf("proxy-ssl-secret %s: %v; no client certificate is sent", ref, err))
		} else {
			a.upstream.cert = c
		}
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(caPEM) {
			a.upstream.roots = pool
		} else {
			bad("ProxySSLSecretInvalid", fmt.Sprintf("secret %s: ca.crt holds no PEM certificate", ref))
		}
	}
}

// upstreamID digests everything a TLS transport depends on.
func upstreamID(p routecfg.BackendProtocol, u *routecfg.UpstreamTLS, secret [32]byte) string {
	h := sha256.New()
	var buf [8]byte
	put := func(v uint64) {
		binary.BigEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	put(uint64(p))
	h.Write(secret[:])
	b := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	put(b(u.Verify))
	put(uint64(u.VerifyDepth))
	put(b(u.ServerName))
	put(uint64(u.MinVersion))
	put(uint64(u.MaxVersion))
	put(uint64(len(u.CipherSuites)))
	for _, s := range u.CipherSuites {
		put(uint64(s))
	}
	h.Write([]byte(u.Name))
	return hex.EncodeToString(h.Sum(nil))
}

func ServiceUpstreamSuffix(ann Set) string {
	if ann.Policy != nil && ann.Policy.Balance != nil && ann.Policy.Balance.ServiceUpstream {
		return resolve.ClusterIPSuffix
	}
	return ""
}
