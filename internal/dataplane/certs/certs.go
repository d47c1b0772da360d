// Package certs selects the TLS certificate for a handshake by SNI, the way
// ingress-nginx's certificate.lua does: the name is lower-cased and one
// trailing dot stripped; an exact host wins, then "*." plus the name after
// its first label, then the default certificate. Missing or unknown SNI
// gets the default, so every HTTPS connection is answered.
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
	"reflect"
	"sync/atomic"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/hostmap"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// FakeCommonName is the Subject and Issuer CN of the generated default
// certificate. It is ingress-nginx's name: its e2e tests and users' tools
// recognise the fallback certificate by it.
const FakeCommonName = "Kubernetes Ingress Controller Fake Certificate"

// maxNameLen bounds the stack buffer used to lower-case a server name
// without allocating; a DNS name is at most 253 bytes.
const maxNameLen = 256

// Store serves certificates from an immutable table that Apply replaces
// with one atomic store; handshakes in flight keep the table they loaded.
type Store struct {
	generated *tls.Certificate
	table     atomic.Pointer[table]
}

type table struct {
	names *hostmap.Map[*tls.Certificate]
	def   *tls.Certificate
	// src and certs are the config's hosts and certificates names was
	// built from; diffable: hostmap.Diff can take src as the last list.
	src      []*routecfg.VirtualHost
	certs    map[string]*routecfg.Certificate
	diffable bool
}

// New returns a Store that serves defaultCert for every name until Apply,
// and afterwards whenever the config has no DefaultCertificate.
func New(defaultCert *tls.Certificate) *Store {
	s := &Store{generated: defaultCert}
	s.table.Store(&table{names: hostmap.New[*tls.Certificate](0), def: defaultCert})
	return s
}

// Apply replaces the selection table with one built from cfg. A virtual
// host whose Certificate names no usable entry of cfg.Certificates is left
// out, as ingress-nginx leaves a host with a missing Secret out of its
// certificate map: its SNI then falls through to a covering wildcard
// host's certificate, else the default. A nil cfg keeps only the default.
//
// When cfg holds the same certificates as the last one and both host
// lists are sorted (as translate emits them), only the hosts that differ
// are visited and the table is updated copy-on-write (hostmap): a change
// to one host of 10,000 does not index 5,000 certificates again.
func (s *Store) Apply(cfg *routecfg.Config) {
	t := &table{def: s.generated}
	if cfg == nil {
		t.names = hostmap.New[*tls.Certificate](0)
		s.table.Store(t)
		return
	}
	if d := cfg.DefaultCertificate; d != nil && d.Cert != nil {
		t.def = d.Cert
	}
	t.src, t.certs = cfg.VirtualHosts, cfg.Certificates
	usable := func(vh *routecfg.VirtualHost) *tls.Certificate {
		if vh == nil || vh.Certificate == "" {
			return nil
		}
		if c := cfg.Certificates[vh.Certificate]; c != nil {
			return c.Cert
		}
		return nil
	}
	if prev := s.table.Load(); prev.diffable && sameCerts(prev.certs, cfg.Certificates) {
		if d, ok := hostmap.Diff(prev.src, cfg.VirtualHosts); ok {
			changes := make([]hostmap.Change[*tls.Certificate], 0, len(d))
			for _, x := range d {
				if c := usable(x.New); c != nil {
					changes = append(changes, hostmap.Change[*tls.Certificate]{Host: x.New.Host, Value: c})
				} else if x.Old != nil && usable(x.Old) != nil {
					changes = append(changes, hostmap.Change[*tls.Certificate]{Host: x.Old.Host, Delete: true})
				}
			}
			t.names, t.diffable = prev.names.With(changes), true
		}
	}
	if t.names == nil {
		t.names = hostmap.New[*tls.Certificate](len(cfg.VirtualHosts))
		for _, vh := range cfg.VirtualHosts {
			if c := usable(vh); c != nil {
				t.names.Add(vh.Host, c)
			}
		}
		t.diffable = hostmap.Sorted(cfg.VirtualHosts)
	}
	s.table.Store(t)
}

// sameCerts reports whether a and b hold the same *Certificate under each
// key (an incremental translate passes the same map on).
func sameCerts(a, b map[string]*routecfg.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
		return true
	}
	for k, c := range b {
		if q, ok := a[k]; !ok || q != c {
			return false
		}
	}
	return true
}

var errNoCertificate = errors.New("certs: no default certificate configured")

// GetCertificate is for tls.Config.GetCertificate.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	var name string
	if hello != nil {
		name = hello.ServerName
	}
	if c := s.Lookup(name); c != nil {
		return c, nil
	}
	return nil, errNoCertificate
}

// Lookup returns the certificate served for serverName (the SNI value,
// possibly empty), or nil only if the Store has no default certificate.
func (s *Store) Lookup(serverName string) *tls.Certificate {
	t := s.table.Load()
	if c, ok := lookupIn(t.names, serverName); ok {
		return c
	}
	return t.def
}

// lookupIn finds serverName in m as lookup does.
func lookupIn[T any](m *hostmap.Map[T], serverName string) (T, bool) {
	var zero T
	if serverName == "" || len(serverName) > maxNameLen || m.Len() == 0 {
		return zero, false
	}
	var buf [maxNameLen]byte
	b := lowerName(buf[:len(serverName)], serverName)
	if len(b) == 0 {
		return zero, false
	}
	return m.Lookup(b)
}

// lowerName lower-cases name into b (len(b) == len(name)) and strips one
// trailing dot.
func lowerName(b []byte, name string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if n := len(b); n > 0 && b[n-1] == '.' {
		b = b[:n-1]
	}
	return b
}

// lookup finds serverName in exact, then the wildcard covering it, without
// allocating. An empty or overlong name finds nothing: no Ingress host is
// longer than a DNS name.
func lookup[T any](exact, wildcard map[string]T, serverName string) (T, bool) {
	var zero T
	if serverName == "" || len(serverName) > maxNameLen || (len(exact) == 0 && len(wildcard) == 0) {
		return zero, false
	}
	// Lower-case into a stack buffer; indexing a map with string(b) does
	// not allocate.
	var buf [maxNameLen]byte
	b := lowerName(buf[:len(serverName)], serverName)
	if len(b) == 0 {
		return zero, false
	}
	if c, ok := exact[string(b)]; ok {
		return c, true
	}
	// A wildcard covers exactly one non-empty label: "*.foo.com" serves
	// "bar.foo.com" but neither "foo.com" nor "a.bar.foo.com".
	for i, c := range b {
		if c == '.' {
			if i > 0 && i+1 < len(b) {
				if c, ok := wildcard[string(b[i+1:])]; ok {
					return c, true
				}
			}
			break
		}
	}
	return zero, false
}

// hostKey splits a virtual host name into the map and key lookup uses:
// wildcard hosts are keyed by the suffix after "*.". ok is false for the
// catch-all, which has no name to match by SNI.
func hostKey(host string) (key string, wildcard, ok bool) { return hostmap.Key(host) }

// GenerateDefault makes the self-signed fallback certificate served for
// unknown or missing SNI: ECDSA P-256, CN FakeCommonName, O "Acme Co", SAN
// "ingress.local", valid for one year from now (the clock is passed in).
// These match ingress-nginx's fake certificate, which tools check for.
func GenerateDefault(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	name := pkix.Name{CommonName: FakeCommonName, Organization: []string{"Acme Co"}}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		Issuer:                name,
		NotBefore:             now,
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"ingress.local"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
