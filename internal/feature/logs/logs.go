// Package logs parses enable-access-log and enable-rewrite-log.
package logs

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "enable-access-log", Status: annotations.Supported,
		Doc: "false leaves the Ingress's requests out of the access log (default true)."},
	{Name: "enable-rewrite-log", Status: annotations.Partial,
		Doc: "true logs each rewrite (path before and after) at info level; the line is moat's JSON log, not nginx's rewrite_log notice."},
}

// Parse reads the family; nil when both are at their defaults.
func Parse(r *annotations.Reader) *routecfg.Logging {
	l := &routecfg.Logging{NoAccessLog: !r.Bool("enable-access-log", true), RewriteLog: r.Bool("enable-rewrite-log", false)}
	if !l.NoAccessLog && !l.RewriteLog {
		return nil
	}
	return l
}
