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
