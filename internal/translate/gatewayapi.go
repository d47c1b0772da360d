package translate

import (
	"crypto/tls"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/core"
	"github.com/moat-ingress/moat/internal/translate/gateway"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// gwResolver lends the Gateway API step translate's pool and certificate
// code, so a Service port or Secret used by an Ingress and a route is one
// pool or certificate.
type gwResolver struct{ t *translator }

func (r gwResolver) ServicePool(ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol) (string, string) {
	r.t.gwUses.use(&r.t.gwUses.services, ns+"/"+name)
	key := ns + "/" + name + ":" + strconv.Itoa(int(port))
	if proto != routecfg.ProtocolHTTP {
		key += "#" + proto.String() // as upstreamFor names an Ingress's
	}
	r.t.gwUses.pool(ref, key)
	if _, ok := r.t.Config.Pools[key]; ok {
		return key, ""
	}
	sb := &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}
	pool, d := resolve.Pool(r.t.Snapshot, ref, ns, sb, key, field)
	if pool == nil {
		if d != nil {
			return "", d.Message
		}
		return "", fmt.Sprintf("service %s/%s port %d cannot be used", ns, name, port)
	}
	if d != nil {
		r.t.Add(*d) // no ready endpoints: served with 503
	}
	pool.Protocol = proto
	r.t.Config.Pools[key] = pool
	return key, ""
}

func (r gwResolver) TLSServicePool(ref diag.ObjectRef, field, ns, name string, port int32, proto routecfg.BackendProtocol, u *routecfg.UpstreamTLS, suffix string) (string, string) {
	r.t.gwUses.use(&r.t.gwUses.services, ns+"/"+name)
	key := ns + "/" + name + ":" + strconv.Itoa(int(port)) + suffix
	r.t.gwUses.pool(ref, key)
	if _, ok := r.t.Config.Pools[key]; ok {
		return key, ""
	}
	sb := &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}
	pool, d := resolve.Pool(r.t.Snapshot, ref, ns, sb, key, field)
	if pool == nil {
		if d != nil {
			return "", d.Message
		}
		return "", fmt.Sprintf("service %s/%s port %d cannot be used", ns, name, port)
	}
	if d != nil {
		r.t.Add(*d)
	}
	pool.Protocol, pool.TLS = proto, u
	r.t.Config.Pools[key] = pool
	return key, ""
}

func (r gwResolver) ClientCertificate(ns, name string) (*tls.Certificate, string) {
	r.t.gwUses.use(&r.t.gwUses.secrets, ns+"/"+name)
	c, _, err := r.t.LoadSecret(ns, name)
	switch {
	case err == core.ErrNotFound:
		return nil, fmt.Sprintf("Secret %s/%s not found", ns, name)
	case err != nil:
		return nil, err.Error()
	}
	return c.Cert, ""
}

func (r gwResolver) Certificate(ns, name string) (string, string) {
	r.t.gwUses.use(&r.t.gwUses.secrets, ns+"/"+name)
	c, _, err := r.t.LoadSecret(ns, name)
	switch {
	case err == core.ErrNotFound:
		return "", fmt.Sprintf("Secret %s/%s not found", ns, name)
	case err != nil:
		return "", err.Error()
	}
	return c.Ref, ""
}

func (t *translator) gatewayOptions() gateway.Options {
	return gateway.Options{ControllerName: t.Opts.GatewayControllerName, Now: t.Opts.Now, Timeouts: t.pol.TrafficDefaults().Timeouts,
		AddressPool: t.Opts.GatewayAddressPool}
}

// gatewayAPI translates the Gateway API objects into hosts of the same
// config. A host an Ingress already serves stays the Ingress's.
func (t *translator) gatewayAPI() {
	if !gateway.Any(t.Snapshot) {
		return
	}
	t.gwUses.ingressPools = make(map[string]bool, len(t.Config.Pools))
	for k := range t.Config.Pools {
		t.gwUses.ingressPools[k] = true
	}
	out := gateway.Translate(t.Snapshot, t.gatewayOptions(), gwResolver{t})
	t.Diags = append(t.Diags, out.Diags...)
	t.gwUses.sockets = len(out.Sockets) > 0
	t.gwUses.routeHosts, t.gwUses.defaultCert = out.RouteHosts, out.DefaultCertificate
	for _, h := range out.Hosts {
		t.gwUses.use(&t.gwUses.hosts, strings.ToLower(strings.TrimSuffix(h.Name, ".")))
	}
	t.gatewaySockets(out.Sockets)
	if out.DefaultCertificate != "" && t.Config.DefaultCertificate == nil {
		t.Config.DefaultCertificate = t.Config.Certificates[out.DefaultCertificate]
	}
	for _, h := range out.Hosts {
		if len(h.Routes) == 0 && h.Passthrough == nil {
			continue
		}
		if t.b.HostTaken(h.Name) {
			t.Add(diag.Diagnostic{Object: h.Source, Severity: diag.Error, Reason: "HostServedByIngress",
				Message: fmt.Sprintf("host %q is served by an Ingress; the routes' rules for it are not served", hostLabel(h.Name)),
				Hint:    "one host is served by Ingresses or by HTTPRoutes, not both"})
			continue
		}
		vh := &routecfg.VirtualHost{Host: h.Name, Routes: h.Routes, Certificate: h.Certificate, TLS: h.Certificate != "", Passthrough: h.Passthrough}
		t.gwHosts = append(t.gwHosts, vh)
	}
}

// gwUses is what the Gateway API step named that an Ingress may name
// too: hosts (its Ingress counterpart wins, HostServedByIngress), Services
// (their pools are shared by key) and Secrets (one certificate each).
// UpdateIngresses declines for an Ingress naming any of them, and for
// every Ingress when a Gateway has its own sockets.
type gwUses struct {
	hosts, services, secrets map[string]bool
	sockets                  bool
	// For UpdateHTTPRoutes: the host keys and pool keys of each route
	// ("Kind/namespace/name"), the pools that existed before the
	// Gateway API step (Ingresses', the default backend's) and the
	// step's default certificate.
	routeHosts, routePools map[string][]string
	ingressPools           map[string]bool
	defaultCert            string
}

func (u *gwUses) pool(ref diag.ObjectRef, key string) {
	if u.routePools == nil {
		u.routePools = map[string][]string{}
	}
	rk := ref.Kind + "/" + ref.Namespace + "/" + ref.Name
	if !slices.Contains(u.routePools[rk], key) {
		u.routePools[rk] = append(u.routePools[rk], key)
	}
}

func (u *gwUses) use(m *map[string]bool, k string) {
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[k] = true
}

// names reports whether ing names a host, Service or Secret of u.
func (u *gwUses) names(ing *networkingv1.Ingress) bool {
	if ing == nil {
		return false
	}
	hosts, pools := refs(ing)
	for _, h := range hosts {
		if u.hosts[h] {
			return true
		}
	}
	for _, p := range pools {
		if u.services[p[:strings.LastIndexByte(p, ':')]] {
			return true
		}
	}
	for _, s := range tlsSecrets(ing) {
		if u.secrets[s] {
			return true
		}
	}
	return false
}

// gatewaySockets makes the sockets of Gateways with their own address
// the config's Listeners. They share nothing with the Ingress listeners,
// so a host there may be an Ingress's host too.
func (t *translator) gatewaySockets(socks []*gateway.Socket) {
	for _, s := range socks {
		l := &routecfg.Listener{Address: s.Address.String(), Port: int(s.Port), Gateway: s.Gateway, DefaultCertificate: s.DefaultCertificate}
		if s.TLS {
			l.Protocol = routecfg.ListenerTLS
		}
		for _, h := range s.Hosts {
			if len(h.Routes) == 0 && h.Passthrough == nil {
				continue
			}
			vh := &routecfg.VirtualHost{Host: h.Name, Routes: h.Routes, Certificate: h.Certificate, TLS: h.Certificate != "", Passthrough: h.Passthrough}
			if h.Name == "" {
				l.CatchAll = vh
				continue
			}
			l.VirtualHosts = append(l.VirtualHosts, vh)
		}
		t.Config.Listeners = append(t.Config.Listeners, l)
	}
}

// finishGatewayHosts adds the Gateway API hosts to the config, keeping
// the hosts sorted.
func (t *translator) finishGatewayHosts() {
	if len(t.gwHosts) == 0 {
		return
	}
	for _, vh := range t.gwHosts {
		if vh.Host == "" {
			t.Config.CatchAll = vh
			continue
		}
		t.Config.VirtualHosts = append(t.Config.VirtualHosts, vh)
	}
	sort.Slice(t.Config.VirtualHosts, func(i, j int) bool { return t.Config.VirtualHosts[i].Host < t.Config.VirtualHosts[j].Host })
}

func hostLabel(h string) string {
	if h == "" {
		return "*"
	}
	return h
}

// GatewayStatus computes the status of the snapshot's Gateway API objects
// that moat owns, as the full translate sees them (pure; the status
// writer and /debug use it).
func GatewayStatus(sn *store.Snapshot, opts Options) gateway.Status {
	t := newTranslator(sn, opts)
	return gateway.Translate(sn, t.gatewayOptions(), gwResolver{t}).Status
}
