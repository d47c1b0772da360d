// Package certs is translate's certificate work that needs no snapshot:
// a cache of parsed key pairs and their health findings, kept across
// translates, and the checks that explain a certificate (host coverage by
// Common Name, chain order, a key pair that does not load). It is apart
// from the Ingress passes so that the cache's locking and generations are
// one small unit, shared by the Ingress and Gateway API paths.
package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Cache memoises key-pair parsing by content, so a resync with thousands
// of unchanged Secrets does not parse them again. Safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	m        generation[[32]byte, certResult]
	findings generation[*tls.Certificate, Findings] // health.go
	// bySecret skips even the hash for a Secret object seen lately
	// (snapshot objects are immutable): hashing 5,000 Secrets was a
	// twentieth of a translate.
	bySecret generation[*corev1.Secret, certResult]
}

// generation is a map that forgets what was not used between two sweeps
// (one per full translate), so rotated certificates do not pile up in a
// long-running controller. Callers hold Cache.mu.
type generation[K comparable, V any] struct{ cur, prev map[K]V }

func (g *generation[K, V]) get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.prev[k]
	if ok {
		g.put(k, v)
	}
	return v, ok
}

func (g *generation[K, V]) put(k K, v V) {
	if g.cur == nil {
		g.cur = map[K]V{}
	}
	g.cur[k] = v
}

func (g *generation[K, V]) sweep() {
	g.prev, g.cur = g.cur, make(map[K]V, len(g.cur))
}

// len counts the distinct keys held.
func (g *generation[K, V]) len() int {
	n := len(g.cur)
	for k := range g.prev {
		if _, ok := g.cur[k]; !ok {
			n++
		}
	}
	return n
}

type certResult struct {
	cert *tls.Certificate
	err  error
	// key is the content hash the pair is cached under in m.
	key [32]byte
}

// New returns an empty cache.
func New() *Cache { return &Cache{} }

// ParseSecret is parse for the key pair of sec.
func (c *Cache) ParseSecret(sec *corev1.Secret, crt, key []byte) (*tls.Certificate, error) {
	c.mu.Lock()
	r, ok := c.bySecret.get(sec)
	if ok {
		c.m.get(r.key) // keep the pair's entry as used
	}
	c.mu.Unlock()
	if ok {
		return r.cert, r.err
	}
	r = c.parse(crt, key)
	c.mu.Lock()
	c.bySecret.put(sec, r)
	c.mu.Unlock()
	return r.cert, r.err
}

// Sweep forgets the Secrets, key pairs and findings not used since the
// previous sweep.
func (c *Cache) Sweep() {
	c.mu.Lock()
	c.bySecret.sweep()
	c.m.sweep()
	c.findings.sweep()
	c.mu.Unlock()
}

func (c *Cache) parse(crt, key []byte) certResult {
	h := sha256.New()
	h.Write(crt)
	h.Write([]byte{0})
	h.Write(key)
	var k [32]byte
	copy(k[:], h.Sum(nil))
	c.mu.Lock()
	r, ok := c.m.get(k)
	c.mu.Unlock()
	if ok {
		return r
	}
	cert, err := tls.X509KeyPair(crt, key)
	if err == nil && cert.Leaf == nil {
		cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	r = certResult{err: err, key: k}
	if err == nil {
		r.cert = &cert
	}
	c.mu.Lock()
	c.m.put(k, r)
	c.mu.Unlock()
	return r
}

// Sizes returns how many key pairs, Secrets and findings the cache holds
// (the tests check that rotated certificates are forgotten).
func (c *Cache) Sizes() (pairs, secrets, findings int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.len(), c.bySecret.len(), c.findings.len()
}
