package routecfg

import (
	"fmt"
	"strings"

	"github.com/moat-ingress/moat/internal/waf"
)

// WAF is a route's web application firewall (enable-modsecurity and the
// keys around it): a compiled rule set, shared by every route with the
// same rules, and how the transaction id is made.
type WAF struct {
	Engine *waf.Engine
	// TransactionID is modsecurity-transaction-id; empty: $request_id.
	TransactionID Template
}

// dumpWAF appends the route's WAF to its Dump line: the engine mode and
// the rule set's key.
func dumpWAF(b *strings.Builder, p *RoutePolicy) {
	if p == nil || p.WAF == nil || p.WAF.Engine == nil {
		return
	}
	fmt.Fprintf(b, " waf=%s:%s", p.WAF.Engine.Mode, p.WAF.Engine.Key)
	if !p.WAF.TransactionID.IsZero() {
		fmt.Fprintf(b, " waf-id=%s", p.WAF.TransactionID)
	}
}
