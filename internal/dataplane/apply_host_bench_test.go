package dataplane

import (
	"fmt"
	"slices"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// BenchmarkApplyHostChange is the data plane's share of an Ingress change
// at scale once translate is incremental: Apply of a config that differs
// from the served one in one host (renamed), sharing every other host,
// pool and certificate with it, as translate.UpdateIngresses makes it.
func BenchmarkApplyHostChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			certs := scaleCerts(b, min(n, 5000))
			base := scaleConfig(n, certs, 8080)
			var cfgs [2]*routecfg.Config
			for i := range cfgs {
				c := *base
				c.VirtualHosts = slices.Clone(base.VirtualHosts)
				last := *c.VirtualHosts[n-1]
				last.Host = fmt.Sprintf("probe-%d.scale.local", i)
				c.VirtualHosts[n-1] = &last
				sortHosts(c.VirtualHosts)
				cfgs[i] = &c
			}
			benchApplyAlternating(b, certs["default/tls-0"], cfgs)
		})
	}
}
