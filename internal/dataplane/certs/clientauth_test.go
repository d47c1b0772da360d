package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// intermediate issues a CA certificate signed by ca.
func (ca *benchCA) intermediate(t *testing.T) *benchCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &benchCA{cert: c, key: key}
}

func TestVerifyClient(t *testing.T) {
	root := newBenchCA(t)
	inter := root.intermediate(t)
	direct := root.issue(t, "direct", x509.ExtKeyUsageClientAuth).Leaf
	viaInter := inter.issue(t, "via", x509.ExtKeyUsageClientAuth).Leaf
	serverOnly := root.issue(t, "server", x509.ExtKeyUsageServerAuth).Leaf
	now := time.Now()
	auth := func(mode routecfg.VerifyMode, depth int) *routecfg.ClientAuth {
		return &routecfg.ClientAuth{Mode: mode, CAs: root.pool, VerifyDepth: depth, PassCertificate: true, MatchCN: regexp.MustCompile("CN=direct")}
	}
	for _, c := range []struct {
		name   string
		ca     *routecfg.ClientAuth
		peer   []*x509.Certificate
		verify string
		ok     bool
	}{
		{"direct, depth 1", auth(routecfg.VerifyOn, 1), []*x509.Certificate{direct}, "SUCCESS", true},
		{"intermediate sent, depth 1", auth(routecfg.VerifyOn, 1), []*x509.Certificate{viaInter, inter.cert}, "SUCCESS", true},
		{"intermediate sent, depth 0", auth(routecfg.VerifyOn, 0), []*x509.Certificate{viaInter, inter.cert}, "FAILED:certificate chain too long", false},
		{"intermediate missing", auth(routecfg.VerifyOn, 1), []*x509.Certificate{viaInter}, "FAILED:unable to get local issuer certificate", false},
		{"server certificate", auth(routecfg.VerifyOn, 1), []*x509.Certificate{serverOnly}, "FAILED:unsupported certificate purpose", false},
		{"none, on", auth(routecfg.VerifyOn, 1), nil, "NONE", false},
		{"none, optional", auth(routecfg.VerifyOptional, 1), nil, "NONE", true},
		{"bad, optional_no_ca", auth(routecfg.VerifyOptionalNoCA, 1), []*x509.Certificate{viaInter}, "FAILED:unable to get local issuer certificate", true},
	} {
		r := VerifyClient(c.ca, c.peer, now)
		if r.Verify != c.verify || r.OK != c.ok {
			t.Errorf("%s: verify %q ok %v, want %q %v", c.name, r.Verify, r.OK, c.verify, c.ok)
		}
	}
	r := VerifyClient(auth(routecfg.VerifyOn, 1), []*x509.Certificate{direct}, now.Add(2*time.Hour))
	if r.Verify != "FAILED:certificate has expired" {
		t.Errorf("expired: %q", r.Verify)
	}
	r = VerifyClient(auth(routecfg.VerifyOn, 1), []*x509.Certificate{direct}, now.Add(-2*time.Hour))
	if r.Verify != "FAILED:certificate is not yet valid" {
		t.Errorf("not yet valid: %q", r.Verify)
	}
	r = VerifyClient(auth(routecfg.VerifyOn, 1), []*x509.Certificate{direct}, now)
	if r.SubjectDN != "CN=direct" || r.IssuerDN != "CN=test CA" {
		t.Errorf("DNs %q %q", r.SubjectDN, r.IssuerDN)
	}
	p, err := url.QueryUnescape(r.EscapedCert)
	if err != nil || !strings.HasPrefix(r.EscapedCert, "-----BEGIN%20CERTIFICATE-----%0A") || !strings.HasPrefix(p, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("escaped cert %q", r.EscapedCert[:40])
	}
	// One verdict per connection and policy.
	ci := &ConnInfo{}
	a := auth(routecfg.VerifyOn, 1)
	if ci.Client(a, []*x509.Certificate{direct}, now) != ci.Client(a, nil, now) {
		t.Error("verdict not reused on the connection")
	}
	if ci.Client(auth(routecfg.VerifyOn, 1), nil, now).Verify != "NONE" {
		t.Error("verdict reused for another policy")
	}
}

// crl returns a CRL from ca revoking serials, valid from thisUpdate for a day.
func (ca *benchCA) crl(t *testing.T, thisUpdate time.Time, serials ...*big.Int) *x509.RevocationList {
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate,
		NextUpdate: thisUpdate.Add(24 * time.Hour), RevokedCertificateEntries: entries}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestVerifyClientCRL: with ca.crl, revoked certificates fail, and every
// certificate of the chain needs a current CRL from its issuer (nginx's
// ssl_crl).
func TestVerifyClientCRL(t *testing.T) {
	root := reissueWithCRLSign(t, newBenchCA(t))
	revoked := root.issue(t, "revoked", x509.ExtKeyUsageClientAuth).Leaf
	good := root.issue(t, "good", x509.ExtKeyUsageClientAuth).Leaf
	now := time.Now()
	auth := &routecfg.ClientAuth{Mode: routecfg.VerifyOn, CAs: root.pool, VerifyDepth: 1,
		CRLs: []*x509.RevocationList{root.crl(t, now.Add(-time.Minute), revoked.SerialNumber)}}
	for _, c := range []struct {
		cert *x509.Certificate
		at   time.Time
		want string
	}{
		{good, now, "SUCCESS"},
		{revoked, now, "FAILED:certificate revoked"},
		{good, now.Add(25 * time.Hour), "FAILED:certificate has expired"}, // the certificate expires first
	} {
		if r := VerifyClient(auth, []*x509.Certificate{c.cert}, c.at); r.Verify != c.want {
			t.Errorf("%s at %s: %q, want %q", c.cert.Subject.CommonName, c.at, r.Verify, c.want)
		}
	}
	other := newBenchCA(t)
	noCRL := &routecfg.ClientAuth{Mode: routecfg.VerifyOn, CAs: root.pool, VerifyDepth: 1, CRLs: []*x509.RevocationList{reissueWithCRLSign(t, other).crl(t, now)}}
	if r := VerifyClient(noCRL, []*x509.Certificate{good}, now); r.Verify != "FAILED:unable to get certificate CRL" {
		t.Errorf("CRL of another CA only: %q", r.Verify)
	}
	stale := &routecfg.ClientAuth{Mode: routecfg.VerifyOn, CAs: root.pool, VerifyDepth: 1, CRLs: []*x509.RevocationList{root.crl(t, now.Add(-48*time.Hour))}}
	if r := VerifyClient(stale, []*x509.Certificate{good}, now); r.Verify != "FAILED:CRL has expired" {
		t.Errorf("stale CRL: %q", r.Verify)
	}
}

// reissueWithCRLSign returns a self-signed CA like ca whose key usage
// allows signing CRLs.
func reissueWithCRLSign(t *testing.T, ca *benchCA) *benchCA {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crl CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &benchCA{cert: c, key: ca.key, pool: pool}
}
