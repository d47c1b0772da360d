package waf

import (
	"strings"
	"testing"
)

// FuzzVet: Vet and Compose never panic, and text Vet accepts never names
// a refused directive or operator (checked on Coraza's logical lines, as
// the parser joins them).
func FuzzVet(f *testing.F) {
	for _, s := range []string{
		"SecRuleEngine On",
		"Include /etc/nginx/owasp-modsecurity-crs/nginx-modsecurity.conf",
		"SecRule ARGS \"@rx x\" \\\n \"id:1,\\\n setenv:A=1\"",
		"SecDataset x `\na\n`",
		"SecRuleRemoveById 1\nSecRuleEngine Off",
		"Include /etc/passwd",
		"SecRule FILES \"@inspectFile /bin/sh\" \"id:2\"",
		"SecRule ARGS \"\u0130\u0130@pmf /etc/x\" \"id:3\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Vet(s)
		if _, cerr := Compose(Global{Enabled: true, Snippet: s}, Location{Snippet: s, CRS: true}); cerr != nil && err == nil {
			t.Fatalf("Vet accepted what Compose cannot split: %v", cerr)
		}
		if err != nil {
			return
		}
		dirs, _ := split(s)
		for _, d := range dirs {
			if _, bad := refusedDirectives[d.name]; bad {
				t.Fatalf("accepted refused directive %q", d.name)
			}
			low := asciiLower(d.args)
			for _, r := range refusedInLine {
				if strings.Contains(low, r.token) {
					t.Fatalf("accepted %q in %q", r.token, d.args)
				}
			}
			if d.name == "include" && !Embedded(strings.Trim(strings.TrimSpace(d.args), `"`)) {
				t.Fatalf("accepted Include %q", d.args)
			}
		}
	})
}
