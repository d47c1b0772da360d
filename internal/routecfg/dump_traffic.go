package routecfg

import (
	"fmt"
	"strings"
)

// dumpTraffic appends the traffic families of a route's policy to its
// Dump line.
func dumpTraffic(b *strings.Builder, p *RoutePolicy) {
	if p == nil {
		return
	}
	if c := p.Canary; c != nil {
		fmt.Fprintf(b, " canary=%s[", c.Pool)
		var parts []string
		if c.Header != "" {
			h := "header=" + c.Header
			switch {
			case c.HeaderValue != "":
				h += ":" + c.HeaderValue
			case c.HeaderPattern != nil:
				h += "~" + c.HeaderPattern.String()
			}
			parts = append(parts, h)
		}
		if c.Cookie != "" {
			parts = append(parts, "cookie="+c.Cookie)
		}
		parts = append(parts, fmt.Sprintf("weight=%d/%d", c.Weight, c.WeightTotal))
		if c.Balance != nil {
			parts = append(parts, dumpBalance(c.Balance)...)
		}
		if c.Affinity != nil {
			parts = append(parts, dumpAffinity(c.Affinity))
		}
		b.WriteString(strings.Join(parts, " ") + "]")
	}
	if a := p.Affinity; a != nil {
		b.WriteString(" " + dumpAffinity(a))
	}
	if bal := p.Balance; bal != nil {
		for _, s := range dumpBalance(bal) {
			b.WriteString(" " + s)
		}
	}
	if l := p.Limits; l != nil {
		fmt.Fprintf(b, " limits=%s[rps=%d/%d rpm=%d/%d conn=%d allow=%d rate=%d/%d]", l.Zone, l.RPS, l.BurstRPS, l.RPM, l.BurstRPM, l.Connections, len(l.Allow), l.Rate, l.RateAfter)
	}
	if bd := p.Body; bd != nil {
		fmt.Fprintf(b, " body[max=%d buffering=%t request-buffering=%t/%d]", bd.MaxBytes, bd.ResponseBuffering, bd.RequestBuffering, bd.BufferBytes)
	}
	if t := p.Timeouts; t != nil {
		fmt.Fprintf(b, " timeouts[connect=%s send=%s read=%s next=%#x tries=%d next-timeout=%s", t.Connect, t.Send, t.Read, uint16(t.Next), t.Tries, t.NextTimeout)
		if t.Again || t.Backoff > 0 {
			fmt.Fprintf(b, " again=%t backoff=%s", t.Again, t.Backoff)
		}
		b.WriteByte(']')
	}
}

func dumpAffinity(a *Affinity) string {
	return fmt.Sprintf("affinity=%s:%s", a.Mode, a.CookieName)
}

func dumpBalance(b *Balance) []string {
	var out []string
	if b.Algorithm != RoundRobin {
		out = append(out, "lb="+b.Algorithm.String())
	}
	if b.HashBy != nil {
		s := "hash="
		for _, p := range b.HashBy {
			s += p.String()
		}
		if b.HashSubsetSize > 0 {
			s += fmt.Sprintf("/subset=%d", b.HashSubsetSize)
		}
		out = append(out, s)
	}
	if b.UpstreamVHost != "" {
		out = append(out, "vhost="+b.UpstreamVHost)
	}
	if b.ServiceUpstream {
		out = append(out, "service-upstream")
	}
	return out
}

// String renders the part as the nginx variable it came from.
func (p HashPart) String() string {
	switch p.Source {
	case HashLiteral:
		return p.Name
	case HashRequestURI:
		return "$request_uri"
	case HashURI:
		return "$uri"
	case HashArgs:
		return "$args"
	case HashHost:
		return "$host"
	case HashRemoteAddr:
		return "$remote_addr"
	case HashHeader:
		return "${http_" + strings.ReplaceAll(strings.ToLower(p.Name), "-", "_") + "}"
	case HashCookie:
		return "${cookie_" + p.Name + "}"
	case HashArg:
		return "${arg_" + p.Name + "}"
	case HashScheme:
		return "$scheme"
	case HashMethod:
		return "$request_method"
	}
	return "?"
}

// dumpTrafficDefaults shows the controller traffic defaults when they
// differ from ingress-nginx's.
func dumpTrafficDefaults(b *strings.Builder, d *TrafficDefaults) {
	if d == nil || *d == DefaultTraffic() {
		return
	}
	fmt.Fprintf(b, "traffic-defaults body[max=%d buffering=%t request-buffering=%t/%d] timeouts[connect=%s send=%s read=%s next=%#x tries=%d next-timeout=%s] lb=%s limit-status=%d/%d\n",
		d.Body.MaxBytes, d.Body.ResponseBuffering, d.Body.RequestBuffering, d.Body.BufferBytes, d.Timeouts.Connect, d.Timeouts.Send, d.Timeouts.Read, uint16(d.Timeouts.Next), d.Timeouts.Tries, d.Timeouts.NextTimeout,
		d.Balance, d.LimitReqStatus, d.LimitConnStatus)
}
