package router

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// benchConfig builds hosts×paths routes: even paths Exact, odd Prefix, in
// translate's order. wildcard makes every host "*.host-N.example.com".
func benchConfig(hosts, paths int, wildcard bool) *routecfg.Config {
	cfg := &routecfg.Config{}
	for h := range hosts {
		name := fmt.Sprintf("host-%d.example.com", h)
		if wildcard {
			name = "*." + name
		}
		var rs []*routecfg.Route
		for p := range paths {
			if p%2 == 0 {
				rs = append(rs, exact(fmt.Sprintf("/path-%d", p)))
			} else {
				rs = append(rs, prefix(fmt.Sprintf("/path-%d", p)))
			}
		}
		cfg.VirtualHosts = append(cfg.VirtualHosts, &routecfg.VirtualHost{Host: name, Routes: ordered(rs...)})
	}
	return cfg
}

func regexConfig(hosts, paths int) *routecfg.Config {
	cfg := &routecfg.Config{}
	for h := range hosts {
		var rs []*routecfg.Route
		for p := range paths {
			rs = append(rs, regex(fmt.Sprintf("/path-%d(/|$)(.*)", p)))
		}
		cfg.VirtualHosts = append(cfg.VirtualHosts, &routecfg.VirtualHost{Host: fmt.Sprintf("host-%d.example.com", h), Routes: rs})
	}
	return cfg
}

type query struct{ host, path string }

// queries spreads lookups over every host and path so the benchmark does
// not measure one hot cache line.
func queries(hosts, paths int, hostFmt string) []query {
	r := rand.New(rand.NewPCG(7, 7))
	qs := make([]query, 4096)
	for i := range qs {
		p := fmt.Sprintf("/path-%d", r.IntN(paths))
		if r.IntN(2) == 0 {
			p += "/sub/resource"
		}
		qs[i] = query{fmt.Sprintf(hostFmt, r.IntN(hosts)), p}
	}
	return qs
}

func benchLookup(b *testing.B, tab *Table, qs []query) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := qs[i&(len(qs)-1)]
		if vh, _ := tab.Lookup(q.host, q.path); vh == nil {
			b.Fatal("no match")
		}
		i++
	}
}

// BenchmarkLookup: 1,000 exact hosts × 10 paths (Exact and Prefix).
func BenchmarkLookup(b *testing.B) {
	benchLookup(b, Compile(benchConfig(1000, 10, false)), queries(1000, 10, "host-%d.example.com"))
}

// BenchmarkLookupUpperCasePort: the same with "Host-N.Example.com:8443".
func BenchmarkLookupUpperCasePort(b *testing.B) {
	benchLookup(b, Compile(benchConfig(1000, 10, false)), queries(1000, 10, "Host-%d.Example.com:8443"))
}

// BenchmarkLookupWildcard: 1,000 "*.host-N" hosts; every lookup misses the
// exact map first.
func BenchmarkLookupWildcard(b *testing.B) {
	benchLookup(b, Compile(benchConfig(1000, 10, true)), queries(1000, 10, "www.host-%d.example.com"))
}

// BenchmarkLookupRegex: 1,000 hosts × 10 regex routes (use-regex hosts).
func BenchmarkLookupRegex(b *testing.B) {
	benchLookup(b, Compile(regexConfig(1000, 10)), queries(1000, 10, "host-%d.example.com"))
}

// BenchmarkLookupManyPaths compares the scan and the index on one host
// with many literal paths (the index is used above indexThreshold).
func BenchmarkLookupManyPaths(b *testing.B) {
	for _, n := range []int{8, 16, 17, 32, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchLookup(b, Compile(benchConfig(1, n, false)), queries(1, n, "host-%d.example.com"))
		})
	}
}
