package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// ConnInfo is per-connection TLS state shared by the requests of one
// connection: the client-certificate verdict, computed on the first
// request and reused by the others (an HTTP/2 connection carries many).
type ConnInfo struct {
	client atomic.Pointer[ClientResult]
}

// ClientResult is the verdict on a connection's client certificate for one
// host's ClientAuth, with nginx's variables for the upstream headers.
type ClientResult struct {
	// Auth is the policy the verdict is for.
	Auth *routecfg.ClientAuth
	// OK is false when the request must be refused with 400 (or sent to
	// the error page).
	OK bool
	// Verify is $ssl_client_verify: SUCCESS, NONE or FAILED:reason.
	Verify string
	// SubjectDN and IssuerDN are RFC 2253 strings ($ssl_client_s_dn,
	// $ssl_client_i_dn); empty without a certificate.
	SubjectDN, IssuerDN string
	// EscapedCert is the URL-encoded PEM leaf ($ssl_client_escaped_cert).
	EscapedCert string
}

// Client returns the verdict for ca on this connection, verifying peer
// (the TLS peer certificates, leaf first) on first use.
func (ci *ConnInfo) Client(ca *routecfg.ClientAuth, peer []*x509.Certificate, now time.Time) *ClientResult {
	if ci == nil {
		return VerifyClient(ca, peer, now)
	}
	if r := ci.client.Load(); r != nil && r.Auth == ca {
		return r
	}
	r := VerifyClient(ca, peer, now)
	ci.client.Store(r)
	return r
}

// VerifyClient checks peer against ca the way nginx's ssl_verify_client
// does: chain to ca.CAs for client authentication, with at most
// ca.VerifyDepth intermediates. optional_no_ca accepts any certificate
// but reports the failure in Verify.
func VerifyClient(ca *routecfg.ClientAuth, peer []*x509.Certificate, now time.Time) *ClientResult {
	r := &ClientResult{Auth: ca}
	if len(peer) == 0 {
		r.Verify = "NONE"
		r.OK = ca.Mode != routecfg.VerifyOn
		return r
	}
	leaf := peer[0]
	r.SubjectDN = leaf.Subject.String()
	r.IssuerDN = leaf.Issuer.String()
	if ca.PassCertificate {
		p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
		// nginx escapes as a URI component: a space is %20, not "+".
		r.EscapedCert = strings.ReplaceAll(url.QueryEscape(string(p)), "+", "%20")
	}
	if err := verifyChain(ca, peer, now); err != nil {
		r.Verify = "FAILED:" + err.Error()
		r.OK = ca.Mode == routecfg.VerifyOptionalNoCA
		return r
	}
	r.Verify = "SUCCESS"
	r.OK = true
	return r
}

var errDepth = errors.New("certificate chain too long")

func verifyChain(ca *routecfg.ClientAuth, peer []*x509.Certificate, now time.Time) error {
	if ca.CAs == nil {
		return errors.New("no trusted CA")
	}
	opts := x509.VerifyOptions{
		Roots:       ca.CAs,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(peer) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range peer[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := peer[0].Verify(opts)
	if err != nil {
		return opensslReason(err)
	}
	// OpenSSL's verify depth counts the intermediates between the leaf
	// and the trust anchor.
	for _, ch := range chains {
		if len(ch)-2 <= ca.VerifyDepth {
			if len(ca.CRLs) > 0 {
				return checkCRLs(ch, ca.CRLs, now)
			}
			return nil
		}
	}
	return errDepth
}

// checkCRLs checks every certificate of chain but the root against the
// CRLs as OpenSSL's CRL_CHECK_ALL (nginx's ssl_crl) does: each needs a
// current CRL signed by its issuer, and must not be listed in it.
func checkCRLs(chain []*x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		var crl *x509.RevocationList
		for _, l := range crls {
			if bytes.Equal(l.RawIssuer, c.RawIssuer) && l.CheckSignatureFrom(issuer) == nil {
				crl = l
				break
			}
		}
		switch {
		case crl == nil:
			return errors.New("unable to get certificate CRL")
		case now.Before(crl.ThisUpdate):
			return errors.New("CRL is not yet valid")
		case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
			return errors.New("CRL has expired")
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber != nil && r.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return errors.New("certificate revoked")
			}
		}
	}
	return nil
}

// opensslReason words a Go verification error as OpenSSL's
// X509_verify_cert_error_string does, which backends may parse.
func opensslReason(err error) error {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return errors.New("unable to get local issuer certificate")
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			// Go's detail reads "current time X is before|after Y".
			if strings.Contains(ci.Detail, " is before ") {
				return errors.New("certificate is not yet valid")
			}
			return errors.New("certificate has expired")
		case x509.IncompatibleUsage:
			return errors.New("unsupported certificate purpose")
		}
	}
	return errors.New("certificate verify failed")
}
