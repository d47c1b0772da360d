package certs

import "testing"

// Gateway API wildcards cover one or more labels, the longest first;
// Lookup keeps SNI's one label.
func TestNameTableLookupAnyDepth(t *testing.T) {
	var n NameTable[string]
	n.Add("*.com", "com")
	n.Add("*.example.com", "example")
	n.Add("abc.example.com", "abc")
	for _, c := range []struct{ name, want, sni string }{
		{"ABC.example.com", "abc", "abc"},
		{"other.example.com", "example", "example"},
		{"a.b.example.com", "example", ""},
		{"other.com", "com", "com"},
		{"x.y.other.com", "com", ""},
		{"com", "", ""},
		{"a..com", "", ""},
		{"", "", ""},
	} {
		if got, _ := n.LookupAnyDepth(c.name); got != c.want {
			t.Errorf("LookupAnyDepth(%q) = %q, want %q", c.name, got, c.want)
		}
		if got, _ := n.Lookup(c.name); got != c.sni {
			t.Errorf("Lookup(%q) = %q, want %q", c.name, got, c.sni)
		}
	}
}
