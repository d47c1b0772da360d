package translate

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/store"
)

// ControllerConfig parses the controller ConfigMap named by opts.ConfigMap
// from the snapshot; defaults when it is unset or missing. The diagnostics
// name the ConfigMap's bad keys and values.
func ControllerConfig(sn *store.Snapshot, opts Options) (controllerconfig.Config, []diag.Diagnostic) {
	name := opts.ConfigMap
	if name == "" {
		return controllerconfig.Default(), nil
	}
	ns, n, ok := strings.Cut(name, "/")
	if !ok || ns == "" || n == "" {
		return controllerconfig.Default(), []diag.Diagnostic{{Object: diag.ObjectRef{Name: "--configmap"}, Severity: diag.Error, Reason: "ConfigMapInvalid",
			Message: fmt.Sprintf("%q is not namespace/name; the controller settings are the defaults", name)}}
	}
	cm, ok := sn.ConfigMaps[name]
	if !ok {
		return controllerconfig.Default(), []diag.Diagnostic{{Object: sn.Ref(store.KindConfigMap, ns, n), Severity: diag.Error, Reason: "ConfigMapNotFound",
			Message: fmt.Sprintf("controller ConfigMap %s (--configmap) not found; the controller settings are the defaults", name)}}
	}
	c, ds := controllerconfig.Parse(cm.Data, sn.Ref(store.KindConfigMap, ns, n))
	if v, set := cm.Data["server-tokens"]; set && !c.ServerTokens && strings.EqualFold(strings.TrimSpace(v), "false") {
		// ingress-nginx clears the header when off (more_clear_headers
		// Server); moat keeps "Server: moat" (proxy/server.go).
		ds = append(ds, diag.Diagnostic{Object: sn.Ref(store.KindConfigMap, ns, n), Severity: diag.Info, Reason: "ServerHeaderKept", Field: "data.server-tokens",
			Message: `server-tokens "false": ingress-nginx then sends no Server header; moat sends "Server: moat", without a version (the Kubernetes Ingress conformance suite requires the header)`})
	}
	return c, ds
}

// loadControllerConfig sets t.Ctrl and the data plane's global settings.
func (t *translator) loadControllerConfig() {
	c, ds := ControllerConfig(t.Snapshot, t.Opts)
	t.Ctrl = c
	t.Diags = append(t.Diags, ds...)
	t.Config.Global = globalSettings(&c)
	t.globalHeaders(&c, t.Config.Global)
	t.Config.ServerTLS = serverTLS(&c)
	t.Config.Clients = clientLimits(&c)
}

// clientLimits are the connection limits the data plane's listeners apply.
func clientLimits(c *controllerconfig.Config) *routecfg.ClientLimits {
	l := routecfg.DefaultClientLimits()
	l.HeaderTimeout = c.ClientHeaderTimeout
	l.BodyTimeout = c.ClientBodyTimeout
	l.KeepAlive = c.KeepAlive
	l.KeepAliveRequests = c.KeepAliveRequests
	l.MaxConnections = c.MaxWorkerConnections
	l.ProxyProtocol, l.ProxyProtocolTimeout = c.UseProxyProtocol, c.ProxyProtocolHeaderTimeout
	l.HTTP2MaxConcurrentStreams = c.HTTP2MaxConcurrentStreams
	l.HeaderLine, l.HeaderTotal = c.HeaderBufferSize, c.HeaderBuffers*c.HeaderBufferSize
	return &l
}

// globalSettings is the part of the ConfigMap the proxy applies per
// request; nil when everything is at its default.
func globalSettings(c *controllerconfig.Config) *global.Settings {
	g := &global.Settings{
		HTTPRedirectCode:        c.HTTPRedirectCode,
		NoTLSRedirectLocations:  c.NoTLSRedirectLocations,
		UseForwardedHeaders:     c.UseForwardedHeaders,
		ForwardedForHeader:      c.ForwardedForHeader,
		ComputeFullForwardedFor: c.ComputeFullForwardedFor,
		TrustedProxies:          c.ProxyRealIPCIDR,
		BlockCIDRs:              c.BlockCIDRs,
		ServerTokens:            c.ServerTokens,
		LogFormat:               &c.LogFormat,

		AllowBackendServerHeader: c.AllowBackendServerHeader,
		DropUnderscoreHeaders:    !c.EnableUnderscoresInHeaders && c.IgnoreInvalidHeaders,
		AddOriginalURIHeader:     c.ProxyAddOriginalURIHeader,
		NoRequestIDGeneration:    !c.GenerateRequestID,
		EnableRealIP:             c.EnableRealIP,
		DisableAccessLog:         c.DisableAccessLog,
		AccessLogDefaultBackend:  c.EnableAccessLogForDefaultBackend,
	}
	for _, h := range c.HideHeaders {
		g.HideHeaders = append(g.HideHeaders, http.CanonicalHeaderKey(h))
	}
	// Validated by their keys (controllerconfig.ValidStringMatch).
	for _, r := range c.BlockReferers {
		if m, err := global.NewStringMatch(r); err == nil {
			g.BlockReferers = append(g.BlockReferers, m)
		}
	}
	for _, u := range c.SkipAccessLogURLs {
		if m, err := global.NewStringMatch(u); err == nil {
			g.SkipAccessLogURIs = append(g.SkipAccessLogURIs, m)
		}
	}
	for _, ua := range c.BlockUserAgents {
		m, err := global.NewStringMatch(ua)
		if err != nil {
			continue // reported below, at parse time, would be better; validated by NewStringMatch
		}
		g.BlockUserAgents = append(g.BlockUserAgents, m)
	}
	if c.Compression.On() {
		g.Compression = &c.Compression
	}
	return g
}
