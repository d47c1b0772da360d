package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"testing"
)

// BenchmarkGetCertificate selects among 5,000 certificates: 4,000 exact
// hosts and 1,000 wildcards, looked up by exact names, wildcard names,
// mixed-case names and unknown names.
func BenchmarkGetCertificate(b *testing.B) {
	ca := newTestCA(b)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	hosts := map[string]*tls.Certificate{}
	for i := range 4000 {
		h := fmt.Sprintf("host-%d.example.com", i)
		hosts[h] = ca.leaf(b, key, h, h)
	}
	for i := range 1000 {
		h := fmt.Sprintf("*.team-%d.example.com", i)
		hosts[h] = ca.leaf(b, key, h, h)
	}
	s := New(ca.leaf(b, key, "generated"))
	s.Apply(config(hosts))

	hellos := make([]*tls.ClientHelloInfo, 4096)
	for i := range hellos {
		var sni string
		switch i % 4 {
		case 0:
			sni = fmt.Sprintf("host-%d.example.com", i%4000)
		case 1:
			sni = fmt.Sprintf("www.team-%d.example.com", i%1000)
		case 2:
			sni = fmt.Sprintf("Host-%d.Example.COM", i%4000)
		case 3:
			sni = fmt.Sprintf("unknown-%d.example.org", i)
		}
		hellos[i] = &tls.ClientHelloInfo{ServerName: sni}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if c, _ := s.GetCertificate(hellos[i&(len(hellos)-1)]); c == nil {
			b.Fatal("no certificate")
		}
		i++
	}
}
