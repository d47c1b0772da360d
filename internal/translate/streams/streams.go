// Package streams translates the tcp-services and udp-services
// ConfigMaps (ingress-nginx's --tcp-services-configmap and
// --udp-services-configmap) into the config's TCP and UDP streams and
// their pools. They share only Service resolution with the HTTP routes,
// so they are a package of their own with one entry point, Translate.
package streams

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/resolve"
)

// TCP and UDP services: ingress-nginx's --tcp-services-configmap and
// --udp-services-configmap. Each key of the ConfigMap is a port to listen
// on, each value "namespace/service:port[:PROXY[:PROXY]]" (the service
// port by number or name; the first PROXY decodes the PROXY protocol from
// clients, the second sends it to the upstream; TCP only). The rules are
// those of ingress-nginx's getStreamServices (controller.go): a key that is
// not a number, a reserved port, a value with fewer than two fields, a
// missing Service, a Service port of another protocol or without ready
// endpoints leaves the entry out; moat says why in a diagnostic naming the
// ConfigMap and the key.

// streamKinds are the two ConfigMaps, in Config.Streams order.
var streamKinds = []struct {
	proto routecfg.StreamProtocol
	flag  string
}{
	{routecfg.StreamTCP, "--tcp-services-configmap"},
	{routecfg.StreamUDP, "--udp-services-configmap"},
}

// Input is what the streams depend on besides the snapshot.
type Input struct {
	// TCPServices and UDPServices are "namespace/name" of the
	// ConfigMaps; "": none.
	TCPServices, UDPServices string
	// HTTP, HTTPS, Admin and Debug are moat's own listeners ("host:port"
	// or ""), whose ports no stream may take.
	HTTP, HTTPS, Admin, Debug string
	// Settings are the controller ConfigMap's proxy-stream-* keys.
	Settings routecfg.StreamSettings
}

// builder holds one Translate's state.
type builder struct {
	sn    *store.Snapshot
	in    Input
	pools map[string]*routecfg.Pool
	diags []diag.Diagnostic
}

func (t *builder) add(d diag.Diagnostic) { t.diags = append(t.diags, d) }

// Translate translates both ConfigMaps into streams, in Config.Streams
// order, adding their pools to pools (shared with the HTTP routes'), and
// returns the diagnostics in the order they were found.
func Translate(sn *store.Snapshot, in Input, pools map[string]*routecfg.Pool) ([]*routecfg.Stream, []diag.Diagnostic) {
	t := &builder{sn: sn, in: in, pools: pools}
	var out []*routecfg.Stream
	for _, k := range streamKinds {
		name := t.in.TCPServices
		if k.proto == routecfg.StreamUDP {
			name = t.in.UDPServices
		}
		out = append(out, t.streamMap(k.proto, k.flag, name)...)
	}
	return out, t.diags
}

// reservedPorts are moat's own listening ports, which ingress-nginx also
// refuses for stream services (its HTTP, HTTPS and health ports).
func (t *builder) reservedPorts() map[int]string {
	m := map[int]string{}
	for _, l := range []struct{ addr, what string }{
		{t.in.HTTP, "the HTTP listener (--http-addr)"},
		{t.in.HTTPS, "the HTTPS listener (--https-addr)"},
		{t.in.Admin, "the admin and metrics listener (--admin-addr)"},
		{t.in.Debug, "the debug listener (--debug-addr)"},
	} {
		if _, p, err := net.SplitHostPort(l.addr); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 {
				m[n] = l.what
			}
		}
	}
	return m
}

func (t *builder) streamMap(proto routecfg.StreamProtocol, flag, name string) []*routecfg.Stream {
	if name == "" {
		return nil
	}
	ns, n, ok := strings.Cut(name, "/")
	if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
		t.add(diag.Diagnostic{Object: diag.ObjectRef{Name: flag}, Severity: diag.Error, Reason: "StreamConfigMapInvalid",
			Message: fmt.Sprintf("%q is not namespace/name; no %s service is served", name, proto)})
		return nil
	}
	ref := t.sn.Ref(store.KindConfigMap, ns, n)
	cm, ok := t.sn.ConfigMaps[name]
	if !ok {
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "StreamConfigMapNotFound",
			Message: fmt.Sprintf("%s services ConfigMap %s (%s) not found; no %s service is served", proto, name, flag, proto)})
		return nil
	}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	// A port written canonically ("80") is taken before other spellings
	// of it ("080"), which are reported as duplicates.
	canonical := func(k string) bool { n, err := strconv.Atoi(k); return err == nil && strconv.Itoa(n) == k }
	sort.Slice(keys, func(i, j int) bool {
		if ci, cj := canonical(keys[i]), canonical(keys[j]); ci != cj {
			return ci
		}
		return keys[i] < keys[j]
	})
	reserved := t.reservedPorts()
	seen := map[int]string{}
	var out []*routecfg.Stream
	for _, key := range keys {
		s, d := t.streamEntry(proto, key, cm.Data[key], reserved)
		for _, x := range d {
			x.Object, x.Field = ref, "data."+key
			t.add(x)
		}
		if s == nil {
			continue
		}
		if first, dup := seen[s.Port]; dup {
			// "80" and "080" are both port 80: nginx would refuse the
			// duplicate listen and keep its old configuration.
			t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "StreamPortDuplicate", Field: "data." + key,
				Message: fmt.Sprintf("%s port %d is already served by key %q; this entry is left out", proto, s.Port, first)})
			continue
		}
		seen[s.Port] = key
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// streamEntry parses and resolves one entry; the diagnostics get their
// object and field from the caller.
func (t *builder) streamEntry(proto routecfg.StreamProtocol, key, value string, reserved map[int]string) (*routecfg.Stream, []diag.Diagnostic) {
	bad := func(reason, format string, args ...any) (*routecfg.Stream, []diag.Diagnostic) {
		return nil, []diag.Diagnostic{{Severity: diag.Error, Reason: reason, Message: fmt.Sprintf(format, args...) + "; the entry is left out"}}
	}
	port, err := strconv.Atoi(key)
	if err != nil || port < 1 || port > 65535 {
		return bad("StreamPortInvalid", "key %q is not a %s port number (1-65535)", key, proto)
	}
	if what, ok := reserved[port]; ok {
		return bad("StreamPortReserved", "%s port %d is %s", proto, port, what)
	}
	const grammar = "namespace/service:port[:PROXY[:PROXY]]"
	parts := strings.Split(value, ":")
	if len(parts) < 2 {
		return bad("StreamEntryInvalid", "value %q is not %s", value, grammar)
	}
	ns, name, ok := strings.Cut(parts[0], "/")
	if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1035Label(name)) > 0 {
		return bad("StreamEntryInvalid", "value %q: %q is not namespace/service (%s)", value, parts[0], grammar)
	}
	svcPort := parts[1]
	if svcPort == "" {
		return bad("StreamEntryInvalid", "value %q names no service port (%s)", value, grammar)
	}
	var ds []diag.Diagnostic
	warn := func(reason, format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	s := &routecfg.Stream{Protocol: proto, Port: port, Service: parts[0] + ":" + svcPort, Settings: t.in.Settings}
	// ingress-nginx reads the third field as decode and the fourth as
	// encode only when there are exactly four; anything else there is
	// ignored (and so served), which moat reports.
	for i, f := range parts[2:] {
		switch {
		case proto == routecfg.StreamUDP:
			if f != "" {
				warn("StreamProxyProtocolIgnored", "value %q: the PROXY protocol is for TCP services only; %q is ignored, as ingress-nginx does", value, f)
			}
		case i >= 2:
			warn("StreamEntryFieldIgnored", "value %q: fields after the fourth are ignored, and with them ingress-nginx sends no PROXY header upstream, nor does moat", value)
		case f == "" || strings.EqualFold(f, "PROXY"):
			if f != "" && i == 0 {
				s.ProxyDecode = true
			}
			if f != "" && i == 1 && len(parts) == 4 {
				s.ProxyEncode = true
			}
		default:
			warn("StreamEntryFieldIgnored", "value %q: field %q is not PROXY and is ignored, as ingress-nginx does", value, f)
		}
		if i >= 2 {
			break
		}
	}
	svc, ok := t.sn.Services[parts[0]]
	if !ok {
		return bad("StreamServiceNotFound", "service %s not found", parts[0])
	}
	sp, other := streamServicePort(svc, svcPort, proto)
	if sp == nil {
		if other != nil {
			return bad("StreamServicePortProtocol", "port %s of service %s is %s, not %s", svcPort, parts[0], other.Protocol, proto)
		}
		return bad("StreamServicePortNotFound", "service %s has no port %s (ports: %s)", parts[0], svcPort, resolve.PortList(svc))
	}
	canon := sp.Name
	if canon == "" {
		canon = strconv.Itoa(int(sp.Port))
	}
	// The key parses as backendRoute's ("ns/svc:port" and a suffix after
	// a character no port name holds), so that UpdateEndpoints refreshes
	// the endpoints of streams as of Ingress backends.
	poolKey := svc.Namespace + "/" + svc.Name + ":" + canon + "#" + strings.ToLower(string(proto))
	s.Pool = poolKey
	if p, ok := t.pools[poolKey]; ok {
		if len(p.Endpoints) == 0 {
			return nil, append(ds, noStreamEndpoints(proto, port, parts[0], svcPort))
		}
		return s, ds
	}
	pool := &routecfg.Pool{Key: poolKey, Namespace: svc.Namespace, Service: svc.Name}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		ext := strings.TrimSuffix(svc.Spec.ExternalName, ".")
		if ip := net.ParseIP(ext); ext == "localhost" || (ip != nil && ip.IsLoopback()) || (ip == nil && len(validation.IsDNS1123Subdomain(ext)) > 0) {
			return bad("StreamExternalNameInvalid", "service %s: externalName %q is not a usable host name (ingress-nginx refuses localhost too)", parts[0], svc.Spec.ExternalName)
		}
		// ingress-nginx dials the targetPort of an ExternalName Service.
		tp := int(sp.TargetPort.IntVal)
		if tp == 0 {
			tp = int(sp.Port)
		}
		pool.Endpoints = []routecfg.Endpoint{{Address: net.JoinHostPort(ext, strconv.Itoa(tp))}}
	} else {
		pool.Endpoints = resolve.ReadyEndpoints(t.sn.EndpointSlices[svc.Namespace+"/"+svc.Name], sp)
	}
	t.pools[poolKey] = pool
	if len(pool.Endpoints) == 0 {
		return nil, append(ds, noStreamEndpoints(proto, port, parts[0], svcPort))
	}
	return s, ds
}

func noStreamEndpoints(proto routecfg.StreamProtocol, port int, svc, svcPort string) diag.Diagnostic {
	return diag.Diagnostic{Severity: diag.Warning, Reason: "StreamNoReadyEndpoints",
		Message: fmt.Sprintf("service %s port %s has no ready endpoints: %s port %d is not listened on until one is, as in ingress-nginx", svc, svcPort, proto, port)}
}

// streamServicePort finds the Service port by number or name and
// protocol; other is a port that matched but with another protocol.
func streamServicePort(svc *corev1.Service, port string, proto routecfg.StreamProtocol) (sp, other *corev1.ServicePort) {
	num, err := strconv.Atoi(port)
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (err == nil && p.Port == int32(num)) || (err != nil && p.Name == port) {
			pp := p.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if string(pp) == string(proto) {
				return p, nil
			}
			other = p
		}
	}
	return nil, other
}
