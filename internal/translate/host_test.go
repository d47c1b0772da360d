package translate

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestIsDNS1123Subdomain: the fast check agrees with the API server's
// validator on hand-picked and random hosts.
func TestIsDNS1123Subdomain(t *testing.T) {
	hosts := []string{"", "a", "a.b", "foo.example.com", "-a", "a-", "a..b", ".a", "a.", "a-b.c-d", "a_b", "A.b", "xn--bcher-kva.example",
		"1.2.3.4", "a.-b", "a.b-", strings.Repeat("a", 253), strings.Repeat("a", 254), strings.Repeat("a.", 126) + "a", "ä.example", "a b"}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "ab09-._A"
	for range 20000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		hosts = append(hosts, string(b))
	}
	for _, h := range hosts {
		if got, want := isDNS1123Subdomain(h), len(validation.IsDNS1123Subdomain(h)) == 0; got != want {
			t.Errorf("isDNS1123Subdomain(%q) = %v, the validator says %v", h, got, want)
		}
	}
}
