package certkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CA is a local certificate authority for testing.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Files in a CA directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// caValidity is long because a local test CA is trusted by hand once.
const caValidity = 10 * 365 * 24 * time.Hour

// backdate covers small clock differences between this machine and clients.
const backdate = time.Hour

// NewCA creates a self-signed ECDSA P-256 CA that can only issue leaf
// certificates (path length 0).
func NewCA(rnd io.Reader, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber(rnd)
	if err != nil {
		return nil, err
	}
	ski := keyID(&key.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"moat local CA"}, CommonName: "moat local CA " + fmt.Sprintf("%x", ski[:4])},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: c, Key: key}, nil
}

// LoadOrCreateCA reuses the CA kept in dir, or creates one there. created
// tells which happened. The key file is written with mode 0600.
func LoadOrCreateCA(dir string, rnd io.Reader, now time.Time) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	crt, errC := os.ReadFile(certPath)
	key, errK := os.ReadFile(keyPath)
	switch {
	case errC == nil && errK == nil:
		ca, err := parseCA(crt, key)
		if err != nil {
			return nil, false, fmt.Errorf("the CA in %s: %w", dir, err)
		}
		return ca, false, nil
	case errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist):
	case errC == nil || errK == nil:
		return nil, false, fmt.Errorf("%s has only one of %s and %s; remove it or restore the other", dir, CACertFile, CAKeyFile)
	default:
		return nil, false, errors.Join(errC, errK)
	}
	ca, err = NewCA(rnd, now)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := EncodeKey(ca.Key)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeNew(certPath, EncodeCertificates([]*x509.Certificate{ca.Cert}), 0o644); err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

func parseCA(crt, key []byte) (*CA, error) {
	certs, err := ParseCertificates(crt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CACertFile, err)
	}
	k, _, err := ParsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CAKeyFile, err)
	}
	if !KeyMatches(certs[0], k.Public()) {
		return nil, fmt.Errorf("%s is not the key of %s", CAKeyFile, CACertFile)
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", CACertFile)
	}
	return &CA{Cert: certs[0], Key: k}, nil
}

// writeNew refuses to replace a file: losing a CA key silently would
// invalidate every certificate it issued.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Leaf is an issued server certificate and its key, PEM-encoded.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// Issue creates an ECDSA P-256 server certificate for hosts (DNS names,
// wildcards, or IP addresses), valid from now for validity.
func (ca *CA) Issue(rnd io.Reader, hosts []string, now time.Time, validity time.Duration) (*Leaf, error) {
	if len(hosts) == 0 {
		return nil, errors.New("no hosts")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber(rnd)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// Modern clients read only the SANs; the CN helps people reading it.
		Subject:        pkix.Name{Organization: []string{"moat local certificate"}, CommonName: hosts[0]},
		NotBefore:      now.Add(-backdate),
		NotAfter:       now.Add(validity),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId:   keyID(&key.PublicKey),
		AuthorityKeyId: ca.Cert.SubjectKeyId,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
		}
	}
	der, err := x509.CreateCertificate(rnd, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := EncodeKey(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: c, CertPEM: EncodeCertificates([]*x509.Certificate{c}), KeyPEM: keyPEM}, nil
}

// EncodeKey writes a private key as PKCS #8 PEM.
func EncodeKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serialNumber(rnd io.Reader) (*big.Int, error) {
	return rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 128))
}

// keyID is the RFC 5280 §4.2.1.2 method (1) key identifier.
func keyID(pub *ecdsa.PublicKey) []byte {
	b, err := pub.Bytes()
	if err != nil {
		return nil
	}
	h := sha1.Sum(b)
	return h[:]
}
