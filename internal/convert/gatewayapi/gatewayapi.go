// Package gatewayapi is `moat convert --to gateway-api`: it turns
// networking.k8s.io/v1 Ingresses with ingress-nginx annotations into
// Gateway API v1 objects (a GatewayClass, one Gateway per ingress class,
// HTTPRoutes, GRPCRoutes, TLSRoutes and ReferenceGrants) that moat serves
// the same way. An annotation Gateway API cannot express is kept as a
// comment on the route it belonged to and reported, never dropped.
package gatewayapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1b1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	prefix          = "nginx.ingress.kubernetes.io/"
	classAnnotation = "kubernetes.io/ingress.class"
	// ControllerName is the GatewayClass controller moat serves by default.
	ControllerName = "moat.dev/gateway-controller"
	// maxRules is the HTTPRoute CRD's limit on spec.rules.
	maxRules = 16
)

// Options choose names for the objects that did not exist before.
type Options struct {
	// GatewayClass is the GatewayClass's name (default "moat").
	GatewayClass string
	// GatewayNamespace holds the Gateways (default "default").
	GatewayNamespace string
}

// Diagnostic is one thing the conversion could not carry over, or
// carried over with a difference.
type Diagnostic struct {
	Object  string // kind namespace/name
	Field   string
	Message string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s: %s: %s", d.Object, d.Field, d.Message)
}

// object is one output document and the comment lines above it.
type object struct {
	comments []string
	obj      any
}

type converter struct {
	opts     Options
	diags    []Diagnostic
	gateways map[string]*gwv1.Gateway // by ingress class
	gwOrder  []string
	grants   map[string]*gwv1b1.ReferenceGrant // by namespace
	routes   []object
	// tls is, per class and host, the Secret an Ingress names for it:
	// ingress-nginx serves (and redirects) a host with TLS whichever of
	// its Ingresses holds the tls entry.
	tls map[string]map[string]tlsRef
	// secrets are the input's Secrets (proxy-ssl-secret's content), and
	// policies the BackendTLSPolicies written, by "namespace/service".
	secrets     map[string]*corev1.Secret
	policies    map[string]*gwv1.BackendTLSPolicy
	policyOrder []string
}

type tlsRef struct{ ns, secret string }

// Convert reads a YAML stream and returns it with every v1 Ingress
// replaced by Gateway API objects; other documents are copied unchanged.
func Convert(data []byte, opts Options) ([]byte, []Diagnostic, error) {
	if opts.GatewayClass == "" {
		opts.GatewayClass = "moat"
	}
	if opts.GatewayNamespace == "" {
		opts.GatewayNamespace = "default"
	}
	c := &converter{opts: opts, gateways: map[string]*gwv1.Gateway{}, grants: map[string]*gwv1b1.ReferenceGrant{},
		secrets: map[string]*corev1.Secret{}, policies: map[string]*gwv1.BackendTLSPolicy{}}
	var kept [][]byte
	var ings []*networkingv1.Ingress
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		if tm.Kind == "Secret" && tm.APIVersion == "v1" {
			sec := &corev1.Secret{}
			if sigsyaml.Unmarshal(doc, sec) == nil {
				if sec.Namespace == "" {
					sec.Namespace = "default"
				}
				c.secrets[sec.Namespace+"/"+sec.Name] = sec
			}
		}
		if tm.Kind != "Ingress" {
			if len(bytes.TrimSpace(stripComments(doc))) > 0 {
				kept = append(kept, doc)
			}
			continue
		}
		if tm.APIVersion != "networking.k8s.io/v1" {
			return nil, nil, fmt.Errorf("document %d: Ingress %s: run moat convert without --to first", i, tm.APIVersion)
		}
		ing := &networkingv1.Ingress{}
		if err := sigsyaml.Unmarshal(doc, ing); err != nil {
			return nil, nil, fmt.Errorf("document %d: Ingress: %w", i, err)
		}
		if ing.Namespace == "" {
			ing.Namespace = "default"
		}
		ings = append(ings, ing)
	}
	c.convertAll(ings)

	var out bytes.Buffer
	for _, d := range kept {
		writeDoc(&out, d)
	}
	if len(c.gwOrder) > 0 {
		objs := []object{{obj: &gwv1.GatewayClass{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "GatewayClass"},
			ObjectMeta: metav1.ObjectMeta{Name: opts.GatewayClass},
			Spec:       gwv1.GatewayClassSpec{ControllerName: ControllerName},
		}}}
		for _, k := range c.gwOrder {
			objs = append(objs, object{obj: c.gateways[k]})
		}
		nss := make([]string, 0, len(c.grants))
		for ns := range c.grants {
			nss = append(nss, ns)
		}
		sort.Strings(nss)
		for _, ns := range nss {
			objs = append(objs, object{obj: c.grants[ns]})
		}
		routes := c.routes
		for _, k := range c.policyOrder {
			routes = append(routes, object{obj: c.policies[k]})
		}
		for _, o := range append(objs, routes...) {
			b, err := sigsyaml.Marshal(o.obj)
			if err != nil {
				return nil, nil, err
			}
			b = dropNullStatus(b)
			var d bytes.Buffer
			for _, cm := range o.comments {
				for _, l := range strings.Split(cm, "\n") {
					d.WriteString("# " + l + "\n")
				}
			}
			d.Write(b)
			writeDoc(&out, d.Bytes())
		}
	}
	return out.Bytes(), c.diags, nil
}

func writeDoc(out *bytes.Buffer, d []byte) {
	if out.Len() > 0 {
		out.WriteString("---\n")
	}
	out.Write(bytes.TrimRight(d, "\n"))
	out.WriteByte('\n')
}

func stripComments(d []byte) []byte {
	var b bytes.Buffer
	for _, l := range bytes.Split(d, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && string(t) != "---" {
			b.Write(l)
		}
	}
	return b.Bytes()
}

// dropNullStatus removes the empty status and creationTimestamp the typed
// objects marshal.
func dropNullStatus(b []byte) []byte {
	var lines []string
	skip := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.TrimSpace(l) == "creationTimestamp: null":
			continue
		case strings.HasPrefix(l, "status:"):
			skip = true
			continue
		case skip && strings.HasPrefix(l, " "):
			continue
		}
		skip = false
		lines = append(lines, l)
	}
	return []byte(strings.Join(lines, "\n"))
}

// ingClass is the class an Ingress names, the key of its Gateway.
func ingClass(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		return *ing.Spec.IngressClassName
	}
	if v := ing.Annotations[classAnnotation]; v != "" {
		return v
	}
	return "default"
}

func (c *converter) diag(ing *networkingv1.Ingress, field, format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	c.diags = append(c.diags, Diagnostic{Object: "Ingress " + ing.Namespace + "/" + ing.Name, Field: field, Message: msg})
	return field + ": " + msg
}

func (c *converter) gateway(class string) *gwv1.Gateway {
	if gw := c.gateways[class]; gw != nil {
		return gw
	}
	all := gwv1.NamespacesFromAll
	gw := &gwv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: class, Namespace: c.opts.GatewayNamespace},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: gwv1.ObjectName(c.opts.GatewayClass),
			Listeners: []gwv1.Listener{{
				Name: "http", Protocol: gwv1.HTTPProtocolType, Port: 80,
				AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &all}},
			}},
		},
	}
	c.gateways[class] = gw
	c.gwOrder = append(c.gwOrder, class)
	return gw
}

// listener adds (once) a listener for hostname and returns its name.
func (c *converter) listener(gw *gwv1.Gateway, proto gwv1.ProtocolType, host, secretNS, secret string) gwv1.SectionName {
	for _, l := range gw.Spec.Listeners {
		if l.Protocol == proto && hostOf(l) == host {
			return l.Name
		}
	}
	base := "https"
	if proto == gwv1.TLSProtocolType {
		base = "tls"
	}
	name := gwv1.SectionName(base)
	if host != "" {
		name = gwv1.SectionName(base + "-" + strings.NewReplacer("*", "wildcard", ".", "-").Replace(host))
	}
	all := gwv1.NamespacesFromAll
	l := gwv1.Listener{Name: name, Protocol: proto, Port: 443,
		AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &all}}}
	if host != "" {
		h := gwv1.Hostname(host)
		l.Hostname = &h
	}
	if proto == gwv1.TLSProtocolType {
		m := gwv1.TLSModePassthrough
		l.TLS = &gwv1.ListenerTLSConfig{Mode: &m}
	} else {
		ref := gwv1.SecretObjectReference{Name: gwv1.ObjectName(secret)}
		if secretNS != gw.Namespace {
			ns := gwv1.Namespace(secretNS)
			ref.Namespace = &ns
			c.grantSecret(gw, secretNS, secret)
		}
		m := gwv1.TLSModeTerminate
		l.TLS = &gwv1.ListenerTLSConfig{Mode: &m, CertificateRefs: []gwv1.SecretObjectReference{ref}}
	}
	gw.Spec.Listeners = append(gw.Spec.Listeners, l)
	return name
}

func hostOf(l gwv1.Listener) string {
	if l.Hostname == nil {
		return ""
	}
	return string(*l.Hostname)
}

// grantSecret lets the Gateway read a Secret in another namespace.
func (c *converter) grantSecret(gw *gwv1.Gateway, ns, secret string) {
	g := c.grants[ns]
	if g == nil {
		g = &gwv1b1.ReferenceGrant{
			TypeMeta:   metav1.TypeMeta{APIVersion: gwv1b1.GroupVersion.String(), Kind: "ReferenceGrant"},
			ObjectMeta: metav1.ObjectMeta{Name: "moat-gateway-certificates", Namespace: ns},
		}
		c.grants[ns] = g
	}
	from := gwv1b1.ReferenceGrantFrom{Group: gwv1.GroupName, Kind: "Gateway", Namespace: gwv1.Namespace(gw.Namespace)}
	to := gwv1b1.ReferenceGrantTo{Group: "", Kind: "Secret", Name: ptr(gwv1.ObjectName(secret))}
	if !containsFrom(g.Spec.From, from) {
		g.Spec.From = append(g.Spec.From, from)
	}
	for _, t := range g.Spec.To {
		if *t.Name == *to.Name {
			return
		}
	}
	g.Spec.To = append(g.Spec.To, to)
}

func containsFrom(l []gwv1b1.ReferenceGrantFrom, f gwv1b1.ReferenceGrantFrom) bool {
	for _, x := range l {
		if x == f {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// canaryKey finds the main Ingress rule a canary Ingress shares.
type canaryKey struct{ ns, host, path string }

func (c *converter) convertAll(ings []*networkingv1.Ingress) {
	canaries := map[canaryKey]*networkingv1.Ingress{}
	for _, ing := range ings {
		if ing.Annotations[prefix+"canary"] != "true" {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				canaries[canaryKey{ing.Namespace, r.Host, p.Path}] = ing
			}
		}
	}
	c.tls = map[string]map[string]tlsRef{}
	for _, ing := range ings {
		cl := ingClass(ing)
		if c.tls[cl] == nil {
			c.tls[cl] = map[string]tlsRef{}
		}
		for _, t := range ing.Spec.TLS {
			for _, h := range t.Hosts {
				if old, ok := c.tls[cl][h]; !ok || old.secret == "" {
					c.tls[cl][h] = tlsRef{ing.Namespace, t.SecretName}
				}
			}
		}
	}
	used := map[*networkingv1.Ingress]bool{}
	for _, ing := range ings {
		if ing.Annotations[prefix+"canary"] == "true" {
			continue
		}
		c.convertIngress(ing, canaries, used)
	}
	for _, ing := range ings {
		if ing.Annotations[prefix+"canary"] == "true" && !used[ing] {
			c.diag(ing, "metadata.annotations", "canary Ingress has no main Ingress with the same host and path in its namespace; not converted")
		}
	}
}

// handled lists the annotations this converter expresses in Gateway API.
var handled = map[string]bool{
	"canary": true, "canary-weight": true, "canary-weight-total": true,
	"canary-by-header": true, "canary-by-header-value": true, "canary-by-header-pattern": true,
	"ssl-redirect": true, "force-ssl-redirect": true, "rewrite-target": true, "use-regex": true,
	"permanent-redirect": true, "permanent-redirect-code": true,
	"temporal-redirect": true, "temporal-redirect-code": true,
	"backend-protocol": true, "ssl-passthrough": true, "upstream-vhost": true,
	"server-alias": true, "app-root": true, "x-forwarded-prefix": true,
	"canary-by-cookie": true,
	"enable-cors":      true, "cors-allow-origin": true, "cors-allow-methods": true, "cors-allow-headers": true,
	"cors-expose-headers": true, "cors-allow-credentials": true, "cors-max-age": true,
	"proxy-connect-timeout": true, "proxy-send-timeout": true, "proxy-read-timeout": true,
	"proxy-ssl-secret": true, "proxy-ssl-verify": true, "proxy-ssl-name": true, "proxy-ssl-server-name": true,
}

// captureRewrite is the usual "strip a prefix" pair: path /foo(/|$)(.*)
// with rewrite-target /$2, which PathPrefix /foo and ReplacePrefixMatch /
// express exactly.
var captureRewrite = regexp.MustCompile(`^(/[^()$|*+?\[\]{}\\^]*?)\(/\|\$\)\(\.\*\)$`)

func (c *converter) convertIngress(ing *networkingv1.Ingress, canaries map[canaryKey]*networkingv1.Ingress, used map[*networkingv1.Ingress]bool) {
	a := func(k string) string { return ing.Annotations[prefix+k] }
	var notes []string
	var keys []string
	for k := range ing.Annotations {
		if strings.HasPrefix(k, prefix) && !handled[strings.TrimPrefix(k, prefix)] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		notes = append(notes, c.diag(ing, "metadata.annotations."+k, "not expressible in Gateway API; kept as a comment (value %q)", ing.Annotations[k]))
	}

	gw := c.gateway(ingClass(ing))
	passthrough := a("ssl-passthrough") == "true"
	proto := strings.ToUpper(a("backend-protocol"))
	isGRPC := proto == "GRPC" || proto == "GRPCS"
	if proto != "" && !isGRPC && proto != "HTTP" && proto != "HTTPS" {
		notes = append(notes, c.diag(ing, "metadata.annotations."+prefix+"backend-protocol", "%s backends are not expressible; kept as a comment", proto))
	}
	c.backendTLS(ing, &notes)
	for _, k := range []string{"proxy-connect-timeout", "proxy-send-timeout", "proxy-read-timeout"} {
		// GRPCRoute and TLSRoute have no timeouts.
		if v, ok := ing.Annotations[prefix+k]; ok && (isGRPC || passthrough) {
			notes = append(notes, c.diag(ing, "metadata.annotations."+prefix+k, "GRPCRoute and TLSRoute have no timeouts; not converted (value %q)", v))
		}
	}

	rules := ing.Spec.Rules
	if len(rules) == 0 && ing.Spec.DefaultBackend != nil {
		rules = []networkingv1.IngressRule{{}}
	}
	for i, r := range rules {
		name := ing.Name
		if len(rules) > 1 {
			name = fmt.Sprintf("%s-%d", ing.Name, i)
		}
		meta := metav1.ObjectMeta{Name: name, Namespace: ing.Namespace}
		var hostnames []gwv1.Hostname
		var aliases []string
		if r.Host != "" {
			hostnames = []gwv1.Hostname{gwv1.Hostname(r.Host)}
			// server-alias names more hosts for the same server (and
			// certificate), as ingress2gateway converts it.
			for _, al := range strings.Split(a("server-alias"), ",") {
				if al = strings.TrimSpace(al); al != "" && al != r.Host {
					aliases = append(aliases, al)
					hostnames = append(hostnames, gwv1.Hostname(al))
				}
			}
		}
		var paths []networkingv1.HTTPIngressPath
		if r.HTTP != nil {
			paths = r.HTTP.Paths
		}
		field := fmt.Sprintf("spec.rules[%d]", i)
		gwRef := func(section gwv1.SectionName) []gwv1.ParentReference {
			ns := gwv1.Namespace(gw.Namespace)
			p := gwv1.ParentReference{Name: gwv1.ObjectName(gw.Name), Namespace: &ns}
			if section != "" {
				p.SectionName = &section
			}
			return []gwv1.ParentReference{p}
		}

		if passthrough {
			if r.Host == "" || len(paths) == 0 {
				notes = append(notes, c.diag(ing, field, "ssl-passthrough needs a host and a backend; not converted"))
				continue
			}
			sec := c.listener(gw, gwv1.TLSProtocolType, r.Host, "", "")
			// ingress-nginx forwards to the backend of the host's "/" path.
			b := paths[0].Backend
			for _, p := range paths {
				if p.Path == "/" {
					b = p.Backend
				}
			}
			ref, ok := c.backendRef(ing, field+".http.paths[0].backend", b, &notes)
			tr := &gwv1.TLSRoute{
				TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "TLSRoute"}, ObjectMeta: meta,
				Spec: gwv1.TLSRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: gwRef(sec)}, Hostnames: hostnames},
			}
			rule := gwv1.TLSRouteRule{}
			if ok {
				rule.BackendRefs = []gwv1.BackendRef{ref}
			}
			tr.Spec.Rules = []gwv1.TLSRouteRule{rule}
			c.routes = append(c.routes, object{comments: commentLines(ing, notes), obj: tr})
			continue
		}

		// Which listeners: a TLS host's route goes on its HTTPS listener,
		// and its HTTP side redirects unless ssl-redirect is "false".
		ref, hasTLS := c.tls[ingClass(ing)][r.Host]
		if r.Host == "" {
			hasTLS = len(ing.Spec.TLS) > 0
			if hasTLS {
				ref = tlsRef{ing.Namespace, ing.Spec.TLS[0].SecretName}
			}
		}
		redirect := hasTLS && a("ssl-redirect") != "false" || a("force-ssl-redirect") == "true"
		var parents []gwv1.ParentReference
		if hasTLS {
			secNS, secret := ref.ns, ref.secret
			if secret == "" {
				notes = append(notes, c.diag(ing, "spec.tls", "host %s has no secretName; the HTTPS listener uses the default certificate", r.Host))
			}
			parents = gwRef(c.listener(gw, gwv1.HTTPSProtocolType, r.Host, secNS, secret))
			for _, al := range aliases {
				parents = append(parents, gwRef(c.listener(gw, gwv1.HTTPSProtocolType, al, secNS, secret))...)
			}
			if !redirect {
				parents = append(parents, gwRef("http")...)
			}
		} else if redirect {
			notes = append(notes, c.diag(ing, "metadata.annotations."+prefix+"force-ssl-redirect", "host %q has no TLS in this Ingress: only the redirect is converted", r.Host))
		} else {
			parents = gwRef("http")
		}
		if redirect {
			rr := &gwv1.HTTPRoute{
				TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "HTTPRoute"},
				ObjectMeta: metav1.ObjectMeta{Name: name + "-https-redirect", Namespace: ing.Namespace},
				Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: gwRef("http")}, Hostnames: hostnames,
					Rules: []gwv1.HTTPRouteRule{{Filters: []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestRedirect,
						RequestRedirect: &gwv1.HTTPRequestRedirectFilter{Scheme: ptr("https"), StatusCode: ptr(308)}}}}}},
			}
			c.routes = append(c.routes, object{obj: rr})
		}
		if len(parents) == 0 {
			continue
		}

		if isGRPC {
			gr := &gwv1.GRPCRoute{
				TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "GRPCRoute"}, ObjectMeta: meta,
				Spec: gwv1.GRPCRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: parents}, Hostnames: hostnames},
			}
			for j, p := range paths {
				pf := fmt.Sprintf("%s.http.paths[%d]", field, j)
				rule := gwv1.GRPCRouteRule{}
				switch svc := strings.Trim(p.Path, "/"); {
				case svc == "":
				case !strings.Contains(svc, "/"):
					rule.Matches = []gwv1.GRPCRouteMatch{{Method: &gwv1.GRPCMethodMatch{Service: ptr(svc)}}}
				default:
					notes = append(notes, c.diag(ing, pf+".path", "a gRPC path other than / or /package.Service is not converted"))
					continue
				}
				if ref, ok := c.backendRef(ing, pf+".backend", p.Backend, &notes); ok {
					rule.BackendRefs = []gwv1.GRPCBackendRef{{BackendRef: ref}}
				}
				gr.Spec.Rules = append(gr.Spec.Rules, rule)
			}
			c.routes = append(c.routes, object{comments: commentLines(ing, notes), obj: gr})
			continue
		}

		hr := &gwv1.HTTPRoute{
			TypeMeta: metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "HTTPRoute"}, ObjectMeta: meta,
			Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: parents}, Hostnames: hostnames},
		}
		filters := c.filters(ing, &notes)
		tmo := c.timeouts(ing, &notes)
		if root := a("app-root"); root != "" {
			// ingress-nginx answers a request for "/" with a 302 to app-root.
			if !strings.HasPrefix(root, "/") || strings.ContainsAny(root, "?#") {
				notes = append(notes, c.diag(ing, "metadata.annotations."+prefix+"app-root", "%q is not a path; not converted", root))
			} else {
				hr.Spec.Rules = append(hr.Spec.Rules, gwv1.HTTPRouteRule{
					Matches: []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr(gwv1.PathMatchExact), Value: ptr("/")}}},
					Filters: []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestRedirect, RequestRedirect: &gwv1.HTTPRequestRedirectFilter{
						Path: &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr(root)}, StatusCode: ptr(302)}}},
				})
			}
		}
		hasRoot := false
		for j, p := range paths {
			pf := fmt.Sprintf("%s.http.paths[%d]", field, j)
			match, rewrite, ok := c.pathMatch(ing, pf, p, &notes)
			if !ok {
				continue
			}
			if match.Path != nil && *match.Path.Value == "/" && *match.Path.Type == gwv1.PathMatchPathPrefix {
				hasRoot = true
			}
			rule := gwv1.HTTPRouteRule{Matches: []gwv1.HTTPRouteMatch{match}, Filters: append([]gwv1.HTTPRouteFilter(nil), filters...)}
			if rewrite != nil {
				rule.Filters = append(rule.Filters, *rewrite)
			}
			if !hasRedirect(rule.Filters) {
				rule.Timeouts = tmo
				ref, ok := c.backendRef(ing, pf+".backend", p.Backend, &notes)
				if ok {
					rule.BackendRefs = []gwv1.HTTPBackendRef{{BackendRef: ref}}
				}
				if can := canaries[canaryKey{ing.Namespace, r.Host, p.Path}]; can != nil && ok {
					used[can] = true
					hr.Spec.Rules = append(hr.Spec.Rules, c.canary(can, r.Host, p.Path, rule, &notes)...)
					continue
				}
			}
			hr.Spec.Rules = append(hr.Spec.Rules, rule)
		}
		if d := ing.Spec.DefaultBackend; d != nil && !hasRoot {
			// ingress-nginx sends what no path matches to spec.defaultBackend.
			if ref, ok := c.backendRef(ing, "spec.defaultBackend", *d, &notes); ok {
				hr.Spec.Rules = append(hr.Spec.Rules, gwv1.HTTPRouteRule{
					Matches:     []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr(gwv1.PathMatchPathPrefix), Value: ptr("/")}}},
					Filters:     append([]gwv1.HTTPRouteFilter(nil), filters...),
					BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: ref}},
					Timeouts:    tmo,
				})
			}
		}
		// The HTTPRoute CRD holds at most 16 rules. Rules of several
		// routes for one hostname are merged by precedence, so a split
		// serves the same.
		all := hr.Spec.Rules
		for k := 0; k == 0 || k*maxRules < len(all); k++ {
			part := hr.DeepCopy()
			part.Spec.Rules = all[k*maxRules : min(len(all), (k+1)*maxRules)]
			if k > 0 {
				part.Name = fmt.Sprintf("%s-part%d", hr.Name, k+1)
				c.routes = append(c.routes, object{obj: part})
				continue
			}
			c.routes = append(c.routes, object{comments: commentLines(ing, notes), obj: part})
		}
	}
}

func hasRedirect(fs []gwv1.HTTPRouteFilter) bool {
	for _, f := range fs {
		if f.Type == gwv1.HTTPRouteFilterRequestRedirect {
			return true
		}
	}
	return false
}

func commentLines(ing *networkingv1.Ingress, notes []string) []string {
	if len(notes) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("moat convert: from Ingress %s/%s; not carried over:", ing.Namespace, ing.Name)}
	for _, n := range notes {
		out = append(out, "  "+n)
	}
	return out
}

// filters are the route-wide filters the annotations ask for.
func (c *converter) filters(ing *networkingv1.Ingress, notes *[]string) []gwv1.HTTPRouteFilter {
	a := func(k string) string { return ing.Annotations[prefix+k] }
	var fs []gwv1.HTTPRouteFilter
	// permanent-redirect wins over temporal-redirect, as in ingress-nginx.
	for _, r := range []struct {
		key, codeKey string
		def          int
	}{
		{"permanent-redirect", "permanent-redirect-code", 301},
		{"temporal-redirect", "temporal-redirect-code", 302},
	} {
		target := a(r.key)
		if target == "" {
			continue
		}
		f := "metadata.annotations." + prefix + r.key
		u, err := url.Parse(target)
		if err != nil || u.Scheme == "" || u.Host == "" {
			*notes = append(*notes, c.diag(ing, f, "%q is not an absolute URL; not converted", target))
			continue
		}
		code := r.def
		if s := a(r.codeKey); s != "" {
			n, err := strconv.Atoi(s)
			switch {
			case err != nil:
				*notes = append(*notes, c.diag(ing, "metadata.annotations."+prefix+r.codeKey, "%q is not a number; using %d", s, code))
			case n == 301 || n == 302 || n == 303 || n == 307 || n == 308:
				code = n
			default:
				*notes = append(*notes, c.diag(ing, "metadata.annotations."+prefix+r.codeKey, "Gateway API redirects answer 301, 302, 303, 307 or 308, not %d; using %d", n, code))
			}
		}
		rd := &gwv1.HTTPRequestRedirectFilter{Scheme: ptr(u.Scheme), Hostname: ptr(gwv1.PreciseHostname(u.Hostname())), StatusCode: ptr(code)}
		if p := u.Port(); p != "" {
			n, _ := strconv.Atoi(p)
			rd.Port = ptr(gwv1.PortNumber(n))
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		rd.Path = &gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr(path)}
		if u.RawQuery != "" || u.Fragment != "" {
			*notes = append(*notes, c.diag(ing, f, "the query or fragment of %q cannot be set by a RequestRedirect; dropped", target))
		}
		fs = append(fs, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterRequestRedirect, RequestRedirect: rd})
		return fs
	}
	if v := a("x-forwarded-prefix"); v != "" {
		if a("rewrite-target") == "" {
			*notes = append(*notes, c.diag(ing, "metadata.annotations."+prefix+"x-forwarded-prefix", "has no effect without rewrite-target, in ingress-nginx too; not converted"))
		} else {
			fs = append(fs, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterRequestHeaderModifier,
				RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Set: []gwv1.HTTPHeader{{Name: "X-Forwarded-Prefix", Value: v}}}})
		}
	}
	if h := a("upstream-vhost"); h != "" {
		fs = append(fs, gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterURLRewrite,
			URLRewrite: &gwv1.HTTPURLRewriteFilter{Hostname: ptr(gwv1.PreciseHostname(h))}})
	}
	if f := c.corsFilter(ing, notes); f != nil {
		fs = append(fs, *f)
	}
	return fs
}

// pathMatch turns one Ingress path (with use-regex and rewrite-target)
// into a match and, when it rewrites, a URLRewrite filter.
func (c *converter) pathMatch(ing *networkingv1.Ingress, field string, p networkingv1.HTTPIngressPath, notes *[]string) (gwv1.HTTPRouteMatch, *gwv1.HTTPRouteFilter, bool) {
	a := func(k string) string { return ing.Annotations[prefix+k] }
	path := p.Path
	if path == "" {
		path = "/"
	}
	typ := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		typ = *p.PathType
	}
	target := a("rewrite-target")
	m := func(t gwv1.PathMatchType, v string) gwv1.HTTPRouteMatch {
		return gwv1.HTTPRouteMatch{Path: &gwv1.HTTPPathMatch{Type: ptr(t), Value: ptr(v)}}
	}
	rw := func(mod gwv1.HTTPPathModifier) *gwv1.HTTPRouteFilter {
		return &gwv1.HTTPRouteFilter{Type: gwv1.HTTPRouteFilterURLRewrite, URLRewrite: &gwv1.HTTPURLRewriteFilter{Path: &mod}}
	}
	if target != "" {
		rf := "metadata.annotations." + prefix + "rewrite-target"
		if sm := captureRewrite.FindStringSubmatch(path); sm != nil && target == "/$2" {
			pre := strings.TrimSuffix(sm[1], "/")
			if pre == "" {
				pre = "/"
			}
			return m(gwv1.PathMatchPathPrefix, pre), rw(gwv1.HTTPPathModifier{Type: gwv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr("/")}), true
		}
		if strings.Contains(target, "$") {
			*notes = append(*notes, c.diag(ing, rf, "%q uses capture groups other than the path /prefix(/|$)(.*) with /$2; the path is not converted", target))
			return gwv1.HTTPRouteMatch{}, nil, false
		}
		if strings.ContainsAny(path, "()[]{}*+?|^$\\") {
			*notes = append(*notes, c.diag(ing, field+".path", "%q is a regular expression with rewrite-target; not converted", path))
			return gwv1.HTTPRouteMatch{}, nil, false
		}
		if typ == networkingv1.PathTypeImplementationSpecific && !strings.HasSuffix(path, "/") {
			*notes = append(*notes, c.diag(ing, field+".pathType", "ImplementationSpecific %q matched %s* in ingress-nginx; PathPrefix matches whole segments only", path, path))
		}
		// nginx's rewrite replaces the whole URI with the target.
		return m(gwv1.PathMatchPathPrefix, path), rw(gwv1.HTTPPathModifier{Type: gwv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr(target)}), true
	}
	if a("use-regex") == "true" && typ != networkingv1.PathTypeExact {
		// ingress-nginx matches a regex path case-insensitively from the
		// start of the path; moat matches a RegularExpression whole.
		return m(gwv1.PathMatchRegularExpression, "(?i)"+path+".*"), nil, true
	}
	switch typ {
	case networkingv1.PathTypeExact:
		return m(gwv1.PathMatchExact, path), nil, true
	case networkingv1.PathTypeImplementationSpecific:
		if !strings.HasSuffix(path, "/") {
			*notes = append(*notes, c.diag(ing, field+".pathType", "ImplementationSpecific %q matched %s* in ingress-nginx; PathPrefix matches whole segments only", path, path))
		}
	}
	return m(gwv1.PathMatchPathPrefix, path), nil, true
}

func (c *converter) backendRef(ing *networkingv1.Ingress, field string, b networkingv1.IngressBackend, notes *[]string) (gwv1.BackendRef, bool) {
	if b.Service == nil {
		*notes = append(*notes, c.diag(ing, field, "a resource backend is not expressible; not converted"))
		return gwv1.BackendRef{}, false
	}
	ref := gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(b.Service.Name)}}
	if b.Service.Port.Number != 0 {
		ref.Port = ptr(gwv1.PortNumber(b.Service.Port.Number))
	} else {
		*notes = append(*notes, c.diag(ing, field+".service.port.name", "Gateway API names Service ports by number; set the number of port %q", b.Service.Port.Name))
		return gwv1.BackendRef{}, false
	}
	return ref, true
}

// canary splits a main rule with a canary Ingress's backend: header rules
// first (canary-by-header), then weights (canary-weight).
func (c *converter) canary(can *networkingv1.Ingress, host, path string, main gwv1.HTTPRouteRule, notes *[]string) []gwv1.HTTPRouteRule {
	a := func(k string) string { return can.Annotations[prefix+k] }
	var b networkingv1.IngressBackend
	for _, r := range can.Spec.Rules {
		if r.Host == host && r.HTTP != nil {
			for _, p := range r.HTTP.Paths {
				if p.Path == path {
					b = p.Backend
				}
			}
		}
	}
	for k := range can.Annotations {
		if strings.HasPrefix(k, prefix) && !handled[strings.TrimPrefix(k, prefix)] {
			*notes = append(*notes, c.diag(can, "metadata.annotations."+k, "annotation of a canary Ingress not expressible; kept as a comment (value %q)", can.Annotations[k]))
		}
	}
	ref, ok := c.backendRef(can, "spec.rules", b, notes)
	if !ok {
		return []gwv1.HTTPRouteRule{main}
	}
	withBackend := func(r gwv1.HTTPRouteRule, refs ...gwv1.HTTPBackendRef) gwv1.HTTPRouteRule {
		r.Matches = append([]gwv1.HTTPRouteMatch(nil), r.Matches...)
		r.BackendRefs = refs
		return r
	}
	header := func(r gwv1.HTTPRouteRule, t gwv1.HeaderMatchType, name, value string) gwv1.HTTPRouteRule {
		for i := range r.Matches {
			r.Matches[i].Headers = append(r.Matches[i].Headers, gwv1.HTTPHeaderMatch{Type: ptr(t), Name: gwv1.HTTPHeaderName(name), Value: value})
		}
		return r
	}
	canRef := gwv1.HTTPBackendRef{BackendRef: ref}
	var out []gwv1.HTTPRouteRule
	if h := a("canary-by-header"); h != "" {
		switch {
		case a("canary-by-header-value") != "":
			out = append(out, header(withBackend(main, canRef), gwv1.HeaderMatchExact, h, a("canary-by-header-value")))
		case a("canary-by-header-pattern") != "":
			out = append(out, header(withBackend(main, canRef), gwv1.HeaderMatchRegularExpression, h, a("canary-by-header-pattern")))
		default:
			out = append(out, header(withBackend(main, canRef), gwv1.HeaderMatchExact, h, "always"),
				header(withBackend(main, main.BackendRefs...), gwv1.HeaderMatchExact, h, "never"))
		}
	}
	if ck := a("canary-by-cookie"); ck != "" {
		// After the header rules (ingress-nginx checks the header first),
		// as a regular expression on the Cookie header.
		out = append(out, header(withBackend(main, canRef), gwv1.HeaderMatchRegularExpression, "Cookie", cookieRE(ck, "always")),
			header(withBackend(main, main.BackendRefs...), gwv1.HeaderMatchRegularExpression, "Cookie", cookieRE(ck, "never")))
	}
	total := 100
	if s := a("canary-weight-total"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			total = n
		}
	}
	if s := a("canary-weight"); s != "" {
		w, err := strconv.Atoi(s)
		if err != nil || w < 0 {
			*notes = append(*notes, c.diag(can, "metadata.annotations."+prefix+"canary-weight", "%q is not a weight; not converted", s))
			w = 0
		}
		w = min(w, total)
		mainRef := main.BackendRefs[0]
		mainRef.Weight = ptr(int32(total - w))
		canRef.Weight = ptr(int32(w))
		out = append(out, withBackend(main, mainRef, canRef))
	} else {
		out = append(out, main)
	}
	return out
}
