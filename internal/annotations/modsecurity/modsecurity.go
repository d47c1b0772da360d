// Package modsecurity parses ingress-nginx's ModSecurity annotations. The
// rules themselves are vetted and compiled by internal/waf (Coraza).
package modsecurity

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "enable-modsecurity", Status: annotations.Supported,
		Doc: "Run the web application firewall (Coraza) on the Ingress's paths with the default ModSecurity configuration (SecRuleEngine DetectionOnly: rules log, nothing is blocked); \"false\" turns off the ConfigMap's enable-modsecurity here."},
	{Name: "enable-owasp-core-rules", Status: annotations.Supported,
		Doc: "Add the OWASP Core Rule Set (v4.25.0, embedded) to the WAF of the Ingress's paths; needs enable-modsecurity here or in the ConfigMap."},
	{Name: "modsecurity-transaction-id", Status: annotations.Supported,
		Doc: "The WAF's transaction id, with nginx variables ($request_id, $host, ...); default $request_id."},
	{Name: "modsecurity-snippet", Status: annotations.Partial,
		Doc: "SecLang rules for the Ingress's paths (in place of the default configuration), run by Coraza. Directives that reach files, programs or the network (Include outside the embedded Core Rule Set, SecRemoteRules, SecAuditLog/SecDebugLog other than /dev/stdout or /dev/stderr, @inspectFile, @rbl, exec, setenv, @pmFromFile outside the Core Rule Set's data, SecUploadDir, SecDataDir, ...) refuse the snippet, as does a syntax error: the paths then answer 503."},
}

// Config is the family's parsed annotations.
type Config struct {
	Enable, EnableSet bool
	CRS               bool
	Snippet           string
	// TransactionID is nil for the default, $request_id.
	TransactionID vartemplate.Template
}

// Parse reads the family. Like ingress-nginx, an invalid enable-modsecurity
// counts as unset and an invalid enable-owasp-core-rules as false.
func Parse(r *annotations.Reader) Config {
	var c Config
	if _, ok := r.Raw("enable-modsecurity"); ok {
		n := len(r.Diags)
		c.Enable = r.Bool("enable-modsecurity", false)
		c.EnableSet = len(r.Diags) == n
	}
	c.CRS = r.Bool("enable-owasp-core-rules", false)
	if v, ok := r.Raw("modsecurity-snippet"); ok {
		c.Snippet = v
	}
	if v, ok := r.Raw("modsecurity-transaction-id"); ok && v != "" {
		t, err := annotations.ParseTemplate(v)
		if err != nil || !annotations.ValidHeaderValue(v) {
			why := "not a value with nginx variables moat knows"
			if err != nil {
				why = err.Error()
			}
			r.Invalid("modsecurity-transaction-id", v, why+"; $request_id is used")
		} else {
			c.TransactionID = t
		}
	}
	return c
}
