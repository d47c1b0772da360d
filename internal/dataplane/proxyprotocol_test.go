package dataplane

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// TestProxyProtocolLogVariables: with use-proxy-protocol on in the
// configuration's ClientLimits, the listeners read the header, and
// log-format-upstream's $remote_addr and $proxy_protocol_* show its
// addresses; without a header they are "-" (plain HTTP once it is off).
func TestProxyProtocolLogVariables(t *testing.T) {
	be := echoBackend(t, "b")
	f, err := logformat.Parse(`$remote_addr $remote_port $proxy_protocol_addr:$proxy_protocol_port $proxy_protocol_server_addr:$proxy_protocol_server_port $status`, logformat.EscapeDefault)
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(on bool) *routecfg.Config {
		c := config([]*routecfg.Pool{pool("b", be)}, &routecfg.VirtualHost{Host: "pp.com", Routes: []*routecfg.Route{prefix("/", "b")}})
		l := routecfg.DefaultClientLimits()
		l.ProxyProtocol = on
		c.Clients = &l
		c.Global = &global.Settings{LogFormat: &f, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}
		return c
	}
	r := start(t, cfg(true), func(o *Options) { o.AccessLogJSON = false })
	send := func(header string) string {
		c, err := net.Dial("tcp", r.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%sGET / HTTP/1.1\r\nHost: pp.com\r\nConnection: close\r\n\r\n", header)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Status
	}
	lastLine := func() string {
		var last string
		for line := range strings.SplitSeq(strings.TrimSpace(r.log.String()), "\n") {
			last = line
		}
		return last
	}
	send("PROXY TCP6 2001:db8::5 2001:db8::1 4321 443\r\n")
	want := "2001:db8::5 4321 2001:db8::5:4321 2001:db8::1:443 200"
	if got := lastLine(); got != want {
		t.Errorf("log line %q, want %q", got, want)
	}
	if err := r.dp.Apply(cfg(false)); err != nil {
		t.Fatal(err)
	}
	send("")
	if got := lastLine(); !strings.HasPrefix(got, "127.0.0.1 ") || !strings.HasSuffix(got, " -:- -:- 200") {
		t.Errorf("without PROXY: log line %q", got)
	}
}
