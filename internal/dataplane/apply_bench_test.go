package dataplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// scaleConfig is what translate makes of n Ingresses, each with its own
// host, Service and EndpointSlice, the first certs of them with their own
// certificate; port is the endpoint port of svc-0, so two configs that
// differ only in it are an endpoint-only change.
func scaleConfig(n int, certs map[string]*routecfg.Certificate, port int) *routecfg.Config {
	cfg := &routecfg.Config{
		Pools:        make(map[string]*routecfg.Pool, n),
		Certificates: certs,
	}
	for i := range n {
		host := fmt.Sprintf("host-%d.scale.local", i)
		key := fmt.Sprintf("default/svc-%d:http", i)
		vh := &routecfg.VirtualHost{
			Host: host,
			Routes: []*routecfg.Route{{
				Path: "/", Match: routecfg.MatchPrefix, Pool: key,
				Source: routecfg.Source{Namespace: "default", Ingress: fmt.Sprintf("ing-%d", i), Service: fmt.Sprintf("svc-%d", i), Port: "http"},
			}},
		}
		if ref := fmt.Sprintf("default/tls-%d", i); certs[ref] != nil {
			vh.Certificate = ref
			vh.HSTS = "max-age=31536000; includeSubDomains"
		}
		cfg.VirtualHosts = append(cfg.VirtualHosts, vh)
		p := 8080
		if i == 0 {
			p = port
		}
		cfg.Pools[key] = &routecfg.Pool{
			Key: key, Namespace: "default", Service: fmt.Sprintf("svc-%d", i),
			Endpoints: []routecfg.Endpoint{{Address: fmt.Sprintf("10.0.%d.%d:%d", i/250%250, i%250+1, p)}},
		}
	}
	sortHosts(cfg.VirtualHosts)
	return cfg
}

// sortHosts orders hosts by name, as translate emits them.
func sortHosts(vhs []*routecfg.VirtualHost) {
	slices.SortFunc(vhs, func(a, b *routecfg.VirtualHost) int { return strings.Compare(a.Host, b.Host) })
}

// scaleCerts issues one ECDSA P-256 leaf per host-N.scale.local, N < n.
func scaleCerts(b *testing.B, n int) map[string]*routecfg.Certificate {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	out := make(map[string]*routecfg.Certificate, n)
	for i := range n {
		host := fmt.Sprintf("host-%d.scale.local", i)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: host},
			DNSNames:     []string{host},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			b.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			b.Fatal(err)
		}
		ref := fmt.Sprintf("default/tls-%d", i)
		out[ref] = &routecfg.Certificate{Ref: ref, Cert: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}
	}
	return out
}

// benchApplyAlternating measures Apply swapping between two configs,
// starting from the second one served.
func benchApplyAlternating(b *testing.B, def *routecfg.Certificate, cfgs [2]*routecfg.Config) {
	d, err := New(Options{DefaultCert: def.Cert})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Apply(cfgs[1]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := d.Apply(cfgs[i&1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkApply is the data plane's share of a change at scale: Apply
// (validate, compile the router, index certificates, merge pools, swap)
// of a config with n hosts, n pools and min(n, 5,000) certificates, that
// differs from the one before only in one pool's endpoint. translate and
// the file source's re-read come on top (see BenchmarkTranslate and
// bench/scale).
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			certs := scaleCerts(b, min(n, 5000))
			cfgs := [2]*routecfg.Config{scaleConfig(n, certs, 8080), scaleConfig(n, certs, 9090)}
			benchApplyAlternating(b, certs["default/tls-0"], cfgs)
		})
	}
}
