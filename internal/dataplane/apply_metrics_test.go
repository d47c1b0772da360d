package dataplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestApplyCertGaugesMatchFresh drives one Dataplane through random host
// changes (hosts with and without certificates, TLS hosts on the default,
// certificates rotated) and requires its certificate-expiry gauges to be
// those of a fresh Dataplane given only the last config: skipping
// SetCertificates for a change to plain hosts must not leave a gauge
// stale.
func TestApplyCertGaugesMatchFresh(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	day := 0
	cert := func(ref string) *routecfg.Certificate {
		day++
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(day)), NotBefore: time.Unix(0, 0), NotAfter: time.Unix(int64(day)*86400, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return &routecfg.Certificate{Ref: ref, Cert: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}
	}
	certs := map[string]*routecfg.Certificate{}
	for i := range 3 {
		ref := fmt.Sprintf("ns/c%d", i)
		certs[ref] = cert(ref)
	}
	def := cert("ns/default")
	gauges := func(reg *prometheus.Registry) string {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fams {
			if f.GetName() != "moat_certificate_expiry_timestamp_seconds" {
				continue
			}
			for _, m := range f.GetMetric() {
				var l []string
				for _, p := range m.GetLabel() {
					l = append(l, p.GetName()+"="+p.GetValue())
				}
				out = append(out, strings.Join(l, ",")+fmt.Sprintf(" %v", m.GetGauge().GetValue()))
			}
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	reg := prometheus.NewRegistry()
	d, err := New(Options{DefaultCert: def.Cert, Metrics: metrics.New(reg)})
	if err != nil {
		t.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	cur := map[string]*routecfg.VirtualHost{}
	for step := range 200 {
		for range 1 + r.IntN(3) {
			h := fmt.Sprintf("h%d.example", r.IntN(12))
			switch r.IntN(4) {
			case 0:
				delete(cur, h)
			case 1:
				cur[h] = &routecfg.VirtualHost{Host: h, Certificate: fmt.Sprintf("ns/c%d", r.IntN(3))}
			case 2:
				cur[h] = &routecfg.VirtualHost{Host: h, TLS: true}
			default:
				cur[h] = &routecfg.VirtualHost{Host: h}
			}
		}
		if r.IntN(10) == 0 {
			certs = maps.Clone(certs)
			ref := fmt.Sprintf("ns/c%d", r.IntN(3))
			certs[ref] = cert(ref)
		}
		vhs := slices.SortedFunc(maps.Values(cur), func(a, b *routecfg.VirtualHost) int { return strings.Compare(a.Host, b.Host) })
		cfg := &routecfg.Config{VirtualHosts: vhs, Certificates: certs}
		if step/20%2 == 0 {
			cfg.DefaultCertificate = def
		}
		if err := d.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		freshReg := prometheus.NewRegistry()
		fresh, err := New(Options{DefaultCert: def.Cert, Metrics: metrics.New(freshReg)})
		if err != nil {
			t.Fatal(err)
		}
		if err := fresh.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		if got, want := gauges(reg), gauges(freshReg); got != want {
			t.Fatalf("step %d: gauges\n%s\nwant\n%s", step, got, want)
		}
	}
}
