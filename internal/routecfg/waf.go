package routecfg

import (
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
	"github.com/moat-ingress/moat/internal/waf"
)

// WAF is a route's web application firewall (enable-modsecurity and the
// keys around it): a compiled rule set, shared by every route with the
// same rules, and how the transaction id is made.
type WAF struct {
	Engine *waf.Engine
	// TransactionID is modsecurity-transaction-id; empty: $request_id.
	TransactionID vartemplate.Template
}
