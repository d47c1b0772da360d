package app

import (
	"context"
	"strings"
	"testing"
)

// TestControllerRejectsBadFlags checks the errors that come before any
// API server is contacted: each names the flag.
func TestControllerRejectsBadFlags(t *testing.T) {
	base := ControllerConfig{ElectionID: "moat-leader"}
	for _, tc := range []struct {
		name string
		mod  func(*ControllerConfig)
		want string
	}{
		{"both publish flags", func(c *ControllerConfig) { c.PublishService, c.PublishStatusAddress = "ns/svc", "203.0.113.1" }, "exclusive"},
		{"publish service without namespace", func(c *ControllerConfig) { c.PublishService = "svc" }, "--publish-service"},
		{"bad status address", func(c *ControllerConfig) { c.PublishStatusAddress = "not an address" }, "--publish-status-address"},
		{"default certificate without namespace", func(c *ControllerConfig) { c.DefaultSSLCertificate = "cert" }, "--default-ssl-certificate"},
		{"configmap without namespace", func(c *ControllerConfig) { c.ConfigMap = "ns/a/b" }, "--configmap"},
		{"tcp services without namespace", func(c *ControllerConfig) { c.TCPServicesConfigMap = "tcp-services" }, "--tcp-services-configmap"},
		{"udp services without namespace", func(c *ControllerConfig) { c.UDPServicesConfigMap = "/udp" }, "--udp-services-configmap"},
		{"empty election id", func(c *ControllerConfig) { c.ElectionID = "" }, "--election-id"},
		{"empty namespace", func(c *ControllerConfig) { c.WatchNamespaces = []string{"a", ""} }, "--watch-namespace"},
	} {
		c := base
		tc.mod(&c)
		err := Controller(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}
