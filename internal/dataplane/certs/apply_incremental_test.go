package certs

import (
	"crypto/tls"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/hostmap"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestApplyIncrementalMatchesFull drives one Store through random configs
// (hosts added, removed, re-pointed at other or missing certificates,
// certificates rotated, host lists now and then unsorted or duplicated,
// which rebuild) and requires it to answer every name as a Store given
// only the last config does.
func TestApplyIncrementalMatchesFull(t *testing.T) {
	def := &tls.Certificate{}
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 2))
		var names []string
		for i := range 25 {
			names = append(names, fmt.Sprintf("h%d.example", i), fmt.Sprintf("*.w%d.example", i))
		}
		names = append(names, "x.w1.example", "W2.Example.")
		certs := map[string]*routecfg.Certificate{}
		for i := range 6 {
			ref := fmt.Sprintf("ns/c%d", i)
			certs[ref] = &routecfg.Certificate{Ref: ref, Cert: &tls.Certificate{}}
		}
		cur := map[string]*routecfg.VirtualHost{}
		s := New(def)
		for step := range 300 {
			for range 1 + r.IntN(5) {
				n := names[r.IntN(len(names))]
				if cur[n] != nil && r.IntN(3) == 0 {
					delete(cur, n)
				} else {
					// c6 and "" name no usable certificate.
					cur[n] = &routecfg.VirtualHost{Host: n, Certificate: []string{"", "ns/c0", "ns/c1", "ns/c2", "ns/c3", "ns/c4", "ns/c5", "ns/c6"}[r.IntN(8)]}
				}
			}
			if r.IntN(10) == 0 {
				certs = maps.Clone(certs)
				ref := fmt.Sprintf("ns/c%d", r.IntN(6))
				certs[ref] = &routecfg.Certificate{Ref: ref, Cert: &tls.Certificate{}}
			}
			var vhs []*routecfg.VirtualHost
			for _, vh := range cur {
				vhs = append(vhs, vh)
			}
			hostmap.Sort(vhs)
			switch r.IntN(20) {
			case 0:
				r.Shuffle(len(vhs), func(i, j int) { vhs[i], vhs[j] = vhs[j], vhs[i] })
			case 1:
				if len(vhs) > 0 {
					vhs = append(vhs, &routecfg.VirtualHost{Host: vhs[0].Host, Certificate: "ns/c5"})
				}
			}
			cfg := &routecfg.Config{VirtualHosts: vhs, Certificates: certs}
			if r.IntN(15) == 0 {
				cfg.DefaultCertificate = certs["ns/c0"]
			}
			s.Apply(cfg)
			want := New(def)
			want.Apply(cfg)
			for _, n := range append(slices.Clone(names), "a.h1.example", "y.w2.example", "a.b.w3.example", "") {
				n = strings.TrimPrefix(n, "*.")
				for _, q := range []string{n, "sub." + n, strings.ToUpper(n) + "."} {
					if got, w := s.Lookup(q), want.Lookup(q); got != w {
						t.Fatalf("seed %d step %d: %q: got %p, want %p", seed, step, q, got, w)
					}
				}
			}
		}
	}
}

// TestLookupOverlayDoesNotAllocate: SNI selection runs per handshake, also
// copy-on-write overlay too.
func TestLookupOverlayDoesNotAllocate(t *testing.T) {
	c := &routecfg.Certificate{Ref: "ns/c", Cert: &tls.Certificate{}}
	certs := map[string]*routecfg.Certificate{"ns/c": c}
	s := New(&tls.Certificate{})
	a := &routecfg.VirtualHost{Host: "a.example", Certificate: "ns/c"}
	w := &routecfg.VirtualHost{Host: "*.w.example", Certificate: "ns/c"}
	s.Apply(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{w, a}, Certificates: certs})
	s.Apply(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{w, a, {Host: "b.example", Certificate: "ns/c"}}, Certificates: certs})
	for _, name := range []string{"A.example.", "b.example", "x.W.example", "unknown.example"} {
		if n := testing.AllocsPerRun(100, func() { s.Lookup(name) }); n != 0 {
			t.Errorf("Lookup(%q): %v allocations", name, n)
		}
	}
}
