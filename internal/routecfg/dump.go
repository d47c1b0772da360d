package routecfg

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
)

// Dump renders a config as stable, readable text: the golden-file format of
// translate's tests and the body of the admin /debug/config endpoint.
func Dump(c *Config) string {
	var b strings.Builder
	if c.DefaultCertificate != nil {
		fmt.Fprintf(&b, "default-certificate %s\n", c.DefaultCertificate.Ref)
	}
	dumpTrafficDefaults(&b, c.TrafficDefaults)
	if d := c.DefaultBackend; d != nil {
		fmt.Fprintf(&b, "default-backend %s", d.Pool)
		dumpErrorPages(&b, d)
		b.WriteByte('\n')
	}
	dumpTracingConfig(&b, c.Tracing)
	for _, vh := range c.VirtualHosts {
		dumpHost(&b, vh.Host, vh)
	}
	if c.CatchAll != nil {
		dumpHost(&b, "*catch-all*", c.CatchAll)
	}
	for _, l := range c.Listeners {
		// A Gateway's own socket and its hosts, which the shared
		// listeners above do not serve.
		fmt.Fprintf(&b, "listener %s gateway=%s", l.Key(), l.Gateway)
		if l.DefaultCertificate != "" {
			fmt.Fprintf(&b, " default-certificate=%s", l.DefaultCertificate)
		}
		b.WriteByte('\n')
		for _, vh := range l.VirtualHosts {
			dumpHost(&b, l.Key()+" "+vh.Host, vh)
		}
		if l.CatchAll != nil {
			dumpHost(&b, l.Key()+" *catch-all*", l.CatchAll)
		}
	}
	keys := make([]string, 0, len(c.Pools))
	for k := range c.Pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := c.Pools[k]
		addrs := make([]string, len(p.Endpoints))
		for i, e := range p.Endpoints {
			addrs[i] = e.Address
		}
		fmt.Fprintf(&b, "pool %s [%s]\n", k, strings.Join(addrs, " "))
	}
	dumpStreams(&b, c.Streams)
	return b.String()
}

func dumpHost(b *strings.Builder, name string, vh *VirtualHost) {
	fmt.Fprintf(b, "host %s", name)
	if vh.TLS {
		cert := vh.Certificate
		if cert == "" {
			cert = "<default>"
		}
		fmt.Fprintf(b, " tls=%s", cert)
	}
	if vh.RedirectHTTPS {
		b.WriteString(" redirect")
	}
	if vh.HSTS != "" {
		b.WriteString(" hsts")
	}
	if ca := vh.ClientAuth; ca != nil {
		fmt.Fprintf(b, " mtls=%s:%s", ca.Mode, ca.Secret)
		if ca.Error != "" {
			b.WriteString(":refuse-403")
		}
	}
	if vh.Passthrough != nil {
		if vh.Passthrough.Terminate {
			b.WriteString(" tls-terminate")
		}
		fmt.Fprintf(b, " passthrough=%s", vh.Passthrough.Pool)
		for _, be := range vh.Passthrough.Backends {
			fmt.Fprintf(b, " %s*%d", cmp.Or(be.Pool, "none"), be.Weight)
		}
	}
	if len(vh.TLSCipherSuites) > 0 {
		fmt.Fprintf(b, " ssl-ciphers=%d", len(vh.TLSCipherSuites))
	}
	b.WriteByte('\n')
	for _, r := range vh.Routes {
		fmt.Fprintf(b, "  %s %s -> ", r.Match, r.Path)
		if r.Pool != "" {
			b.WriteString(r.Pool)
		} else if len(r.Backends) > 0 || r.URLRedirect != nil {
			b.WriteString("gateway")
		} else {
			fmt.Fprintf(b, "status %d", r.Status)
		}
		if r.Rewrite != nil {
			if r.Rewrite.Redirect {
				fmt.Fprintf(b, " redirect=%s", r.Rewrite.Target)
			} else {
				fmt.Fprintf(b, " rewrite=%s", r.Rewrite.Target)
			}
		}
		if !r.SSLRedirect {
			b.WriteString(" no-ssl-redirect")
		}
		if r.ForceSSLRedirect {
			b.WriteString(" force-ssl-redirect")
		}
		dumpTraffic(b, r.Policy)
		dumpErrorPages(b, r)
		dumpTracing(b, r.Policy)
		dumpWAF(b, r.Policy)
		dumpMatch(b, r)
		fmt.Fprintf(b, " (%s/%s)\n", r.Source.Namespace, r.Source.Ingress)
	}
}

// dumpErrorPages appends custom-http-errors and default-backend:
// errors=CODES->POOL ("default": the controller's default backend),
// "intercept" when upstream answers are replaced too.
func dumpErrorPages(b *strings.Builder, r *Route) {
	if r.NoEndpoints {
		b.WriteString(" no-endpoints")
	}
	if r.Policy == nil || r.Policy.ErrorPages == nil {
		return
	}
	e := r.Policy.ErrorPages
	if len(e.Codes) > 0 {
		codes := make([]string, len(e.Codes))
		for i, c := range e.Codes {
			codes[i] = fmt.Sprint(c)
		}
		pool := e.Pool
		if pool == "" {
			pool = "default"
		}
		fmt.Fprintf(b, " errors=%s->%s", strings.Join(codes, ","), pool)
		if e.Intercept {
			b.WriteString(" intercept")
		}
	}
	if e.Backend != "" {
		fmt.Fprintf(b, " default-backend=%s", e.Backend)
	}
}
