package controllerconfig

import (
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
)

// TestProxyProtocolKeys: use-proxy-protocol and proxy-protocol-header-timeout
// (ingress-nginx's time.ParseDuration, default 5s); a bad timeout keeps
// the default and names the key; with use-forwarded-headers too, the
// difference kept from ingress-nginx is noted.
func TestProxyProtocolKeys(t *testing.T) {
	c := Default()
	if c.UseProxyProtocol || c.ProxyProtocolHeaderTimeout != 5*time.Second {
		t.Errorf("defaults: %v %v", c.UseProxyProtocol, c.ProxyProtocolHeaderTimeout)
	}
	c, ds := Parse(map[string]string{"use-proxy-protocol": "true", "proxy-protocol-header-timeout": "750ms"}, diag.ObjectRef{})
	if len(ds) != 0 || !c.UseProxyProtocol || c.ProxyProtocolHeaderTimeout != 750*time.Millisecond {
		t.Errorf("parsed %v %v, diagnostics %v", c.UseProxyProtocol, c.ProxyProtocolHeaderTimeout, ds)
	}
	for _, bad := range []string{"5", "0s", "-1s", "soon"} {
		c, ds := Parse(map[string]string{"proxy-protocol-header-timeout": bad}, diag.ObjectRef{})
		if len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" || ds[0].Field != "data.proxy-protocol-header-timeout" || c.ProxyProtocolHeaderTimeout != 5*time.Second {
			t.Errorf("%q: %v, diagnostics %v", bad, c.ProxyProtocolHeaderTimeout, ds)
		}
	}
	if _, ds := Parse(map[string]string{"use-proxy-protocol": "yes"}, diag.ObjectRef{}); len(ds) != 1 || ds[0].Reason != "ConfigMapInvalidValue" {
		t.Errorf("use-proxy-protocol yes: %v", ds)
	}
	c, ds = Parse(map[string]string{"use-proxy-protocol": "true", "use-forwarded-headers": "true"}, diag.ObjectRef{})
	if !c.UseProxyProtocol || !c.UseForwardedHeaders || len(ds) != 1 || ds[0].Reason != "ConfigMapValueDiffers" || ds[0].Field != "data.use-proxy-protocol" {
		t.Errorf("with use-forwarded-headers: %v %v, diagnostics %v", c.UseProxyProtocol, c.UseForwardedHeaders, ds)
	}
}
