package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testCA issues leaf certificates that clients verify with its pool, so a
// handshake succeeds only if the server picked the right certificate.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "moat test CA"},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a certificate for names; the CN is cn so tests can tell
// certificates for the same names apart.
func (ca *testCA) leaf(t testing.TB, key *ecdsa.PrivateKey, cn string, names ...string) *tls.Certificate {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// config maps each host to a certificate with the same Ref as the host.
func config(hosts map[string]*tls.Certificate) *routecfg.Config {
	cfg := &routecfg.Config{Certificates: map[string]*routecfg.Certificate{}}
	for h, c := range hosts {
		ref := "default/" + h
		cfg.Certificates[ref] = &routecfg.Certificate{Ref: ref, Cert: c}
		cfg.VirtualHosts = append(cfg.VirtualHosts, &routecfg.VirtualHost{Host: h, TLS: true, Certificate: ref})
	}
	slices.SortFunc(cfg.VirtualHosts, func(a, b *routecfg.VirtualHost) int {
		if a.Host < b.Host {
			return -1
		}
		return 1
	})
	return cfg
}

func TestGenerateDefault(t *testing.T) {
	c, err := GenerateDefault(testNow)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Leaf
	if l.Subject.CommonName != FakeCommonName || l.Issuer.CommonName != FakeCommonName {
		t.Errorf("subject %q issuer %q", l.Subject, l.Issuer)
	}
	if !slices.Equal(l.Subject.Organization, []string{"Acme Co"}) {
		t.Errorf("organization %q", l.Subject.Organization)
	}
	if !slices.Equal(l.DNSNames, []string{"ingress.local"}) {
		t.Errorf("SANs %q", l.DNSNames)
	}
	if !l.NotBefore.Equal(testNow) || !l.NotAfter.Equal(testNow.AddDate(1, 0, 0)) {
		t.Errorf("validity %v – %v", l.NotBefore, l.NotAfter)
	}
	if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); !ok || l.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key %T, %v", c.PrivateKey, l.PublicKeyAlgorithm)
	}
	if pub, ok := l.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Error("not P-256")
	}
	if err := l.CheckSignature(l.SignatureAlgorithm, l.RawTBSCertificate, l.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !slices.Contains(l.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Error("no serverAuth")
	}
	if _, err := tls.X509KeyPair(pemChain(c), pemKey(t, c)); err != nil {
		t.Errorf("key pair does not load: %v", err)
	}
}

func TestLookup(t *testing.T) {
	ca := newTestCA(t)
	def := ca.leaf(t, nil, "generated")
	foo := ca.leaf(t, nil, "foo", "foo.com")
	wild := ca.leaf(t, nil, "wild", "*.foo.com")
	bar := ca.leaf(t, nil, "bar", "bar.foo.com")
	s := New(def)
	s.Apply(config(map[string]*tls.Certificate{"foo.com": foo, "*.foo.com": wild, "bar.foo.com": bar}))

	tests := []struct {
		sni  string
		want *tls.Certificate
	}{
		{"foo.com", foo},
		{"FOO.COM", foo},
		{"foo.com.", foo},
		{"bar.foo.com", bar}, // exact beats wildcard
		{"baz.foo.com", wild},
		{"Baz.Foo.Com.", wild},
		{"a.baz.foo.com", def}, // one label only
		{".foo.com", def},
		{"foo.com..", def},
		{"other.com", def},
		{"com", def},
		{"", def},
		{".", def},
		{"*.foo.com", wild}, // a literal "*" label is one label
	}
	for _, tc := range tests {
		if got := s.Lookup(tc.sni); got != tc.want {
			t.Errorf("Lookup(%q) = %s, want %s", tc.sni, cn(got), cn(tc.want))
		}
		got, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.sni})
		if err != nil || got != tc.want {
			t.Errorf("GetCertificate(%q) = %s, %v, want %s", tc.sni, cn(got), err, cn(tc.want))
		}
	}
}

func TestApplyEdgeCases(t *testing.T) {
	ca := newTestCA(t)
	def := ca.leaf(t, nil, "generated")
	cfgDef := ca.leaf(t, nil, "configured-default")
	a := ca.leaf(t, nil, "a", "a.com")
	s := New(def)

	cfg := &routecfg.Config{
		VirtualHosts: []*routecfg.VirtualHost{
			{Host: "a.com", Certificate: "ns/a"},
			{Host: "missing.com", TLS: true, Certificate: "ns/missing"}, // Secret not found
			{Host: "nocert.com", TLS: true, Certificate: "ns/nil"},      // entry without a key pair
			{Host: "plain.com"},
			nil,
		},
		CatchAll:     &routecfg.VirtualHost{Certificate: "ns/a"},
		Certificates: map[string]*routecfg.Certificate{"ns/a": {Ref: "ns/a", Cert: a}, "ns/nil": {Ref: "ns/nil"}},
	}
	s.Apply(cfg)
	for sni, want := range map[string]*tls.Certificate{"a.com": a, "missing.com": def, "nocert.com": def, "plain.com": def, "": def} {
		if got := s.Lookup(sni); got != want {
			t.Errorf("Lookup(%q) = %s, want %s", sni, cn(got), cn(want))
		}
	}

	// A configured DefaultCertificate replaces the generated one...
	cfg.DefaultCertificate = &routecfg.Certificate{Ref: "ns/default", Cert: cfgDef}
	s.Apply(cfg)
	if got := s.Lookup("unknown.com"); got != cfgDef {
		t.Errorf("configured default: got %s", cn(got))
	}
	// ...and only for as long as the config has it.
	cfg.DefaultCertificate = nil
	s.Apply(cfg)
	if got := s.Lookup("unknown.com"); got != def {
		t.Errorf("after removing the configured default: got %s", cn(got))
	}
	s.Apply(nil)
	if got := s.Lookup("a.com"); got != def {
		t.Errorf("nil config: got %s", cn(got))
	}

	empty := New(nil)
	if _, err := empty.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.com"}); !errors.Is(err, errNoCertificate) {
		t.Errorf("no default: err = %v", err)
	}
}

// A wildcard host without its own certificate does not lend another host's
// certificate to its names: only "*." entries with a certificate match.
func TestNoCrossHostCertificates(t *testing.T) {
	ca := newTestCA(t)
	def := ca.leaf(t, nil, "generated")
	foo := ca.leaf(t, nil, "foo", "foo.com")
	s := New(def)
	cfg := config(map[string]*tls.Certificate{"foo.com": foo})
	cfg.VirtualHosts = append(cfg.VirtualHosts, &routecfg.VirtualHost{Host: "*.foo.com", TLS: true})
	s.Apply(cfg)
	for _, sni := range []string{"x.foo.com", "xfoo.com", "oo.com", "foo.co", "foo.com.evil.com"} {
		if got := s.Lookup(sni); got != def {
			t.Errorf("Lookup(%q) = %s, want the default", sni, cn(got))
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	ca := newTestCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := New(ca.leaf(t, key, "generated"))
	s.Apply(config(map[string]*tls.Certificate{"foo.com": ca.leaf(t, key, "foo"), "*.foo.com": ca.leaf(t, key, "wild")}))
	for _, sni := range []string{"foo.com", "FOO.com.", "x.foo.com", "X.FOO.COM", "unknown.org", ""} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		if n := testing.AllocsPerRun(100, func() { s.GetCertificate(hello) }); n != 0 {
			t.Errorf("GetCertificate(%q): %v allocs, want 0", sni, n)
		}
	}
}

func cn(c *tls.Certificate) string {
	if c == nil {
		return "<nil>"
	}
	if c.Leaf == nil {
		return "<no leaf>"
	}
	return c.Leaf.Subject.CommonName
}
