package ingress

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

// TestValidHostMessages: each kind of bad host gets a message saying what
// is wrong with it; a host with CR/LF (a header-injection attempt that
// happens to contain ':') is not said to have a port.
func TestValidHostMessages(t *testing.T) {
	for _, c := range []struct{ host, want, not string }{
		{"a.example\r\nX-Evil: 1", "control character", "has a port"},
		{"a.example\nb", "control character", ""},
		{"a.example\x00", "control character", ""},
		{"a.example\x7f", "control character", ""},
		{"a .example", "space", ""},
		{"a.example:8080", "has a port", ""},
		{"10.0.0.1", "IP address", ""},
		{"${HOST}", "placeholder", ""},
		{"a_b.example", "not a valid DNS name", ""},
		{"a.example", "", ""},
	} {
		got := validHost(c.host)
		if c.want == "" {
			if got != "" {
				t.Errorf("validHost(%q) = %q, want no message", c.host, got)
			}
			continue
		}
		if !strings.Contains(got, c.want) || (c.not != "" && strings.Contains(got, c.not)) {
			t.Errorf("validHost(%q) = %q, want it to say %q (and not %q)", c.host, got, c.want, c.not)
		}
	}
}
