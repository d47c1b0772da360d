package modsecurity

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

// TestParse follows ingress-nginx's parser: a bad enable-modsecurity
// counts as unset (the ConfigMap decides), a bad enable-owasp-core-rules
// as false; the transaction id takes nginx variables.
func TestParse(t *testing.T) {
	r := annotest.Reader()
	if c := Parse(r); c.Enable || c.EnableSet || c.CRS || c.Snippet != "" || !c.TransactionID.IsZero() {
		t.Errorf("unset: %+v", c)
	}
	r = annotest.Reader("enable-modsecurity", "false")
	if c := Parse(r); c.Enable || !c.EnableSet {
		t.Errorf("false: %+v", c)
	}
	annotest.NoDiags(t, r)
	r = annotest.Reader("enable-modsecurity", "yes", "enable-owasp-core-rules", "maybe")
	if c := Parse(r); c.Enable || c.EnableSet || c.CRS {
		t.Errorf("invalid values: %+v", c)
	}
	if len(r.Diags) != 2 {
		t.Errorf("invalid values: %d diagnostics, want 2", len(r.Diags))
	}
	r = annotest.Reader("enable-modsecurity", "true", "enable-owasp-core-rules", "true",
		"modsecurity-snippet", "SecRuleEngine On", "modsecurity-transaction-id", "modsec-$request_id")
	c := Parse(r)
	annotest.NoDiags(t, r)
	if !c.Enable || !c.EnableSet || !c.CRS || c.Snippet != "SecRuleEngine On" || c.TransactionID.String() != "modsec-${request_id}" {
		t.Errorf("all set: %+v", c)
	}
	r = annotest.Reader("modsecurity-transaction-id", "$nosuchvar")
	if c := Parse(r); !c.TransactionID.IsZero() || len(r.Diags) != 1 {
		t.Errorf("unknown variable: %+v %v", c, r.Diags)
	}
}
