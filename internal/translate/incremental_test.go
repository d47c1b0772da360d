package translate

import (
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

// loopSim replays what the reconcile loop does with a store: each pass
// takes SnapshotChanges and uses UpdateEndpoints for an endpoint-only
// change, UpdateIngresses for an Ingress-only change, and a full
// TranslateIncremental otherwise; every result is checked against a fresh
// Translate of the same snapshot.
type loopSim struct {
	t      *testing.T
	st     *store.Store
	opts   Options
	cfg    *routecfg.Config
	diags  []diag.Diagnostic
	inc    *Incremental
	fast   int // passes UpdateIngresses served
	routes int // passes UpdateHTTPRoutes served
	full   int
	eps    int
	passes int
}

func (l *loopSim) pass(name string) {
	l.t.Helper()
	l.passes++
	sn, ch := l.st.SnapshotChanges()
	done := false
	if l.cfg != nil && ch.OnlyKind(store.KindEndpointSlice) {
		services := map[string]bool{}
		for k, before := range ch.Keys {
			after, _ := sn.Get(k)
			for _, o := range []store.Object{before, after} {
				if es, ok := o.Obj.(*discoveryv1.EndpointSlice); ok {
					services[es.Namespace+"/"+es.Labels[discoveryv1.LabelServiceName]] = true
				}
			}
		}
		if next, _, ok := UpdateEndpoints(l.cfg, sn, services); ok {
			l.cfg, done = next, true
			l.eps++
		}
	}
	if !done && l.cfg != nil {
		if next, diags, ok := UpdateIngresses(l.inc, l.cfg, sn, ch, l.opts); ok {
			l.cfg, l.diags, done = next, diags, true
			l.fast++
		}
	}
	if !done && l.cfg != nil {
		if next, diags, ok := UpdateHTTPRoutes(l.inc, l.cfg, sn, ch, l.opts); ok {
			l.cfg, l.diags, done = next, diags, true
			l.routes++
		}
	}
	if !done {
		l.cfg, l.diags, l.inc = TranslateIncremental(sn, l.opts)
		l.full++
	}
	wantCfg, wantDiags := Translate(sn, l.opts)
	if !reflect.DeepEqual(l.cfg, wantCfg) && (deterministic(sn, l.opts) || dump.Config(l.cfg) != dump.Config(wantCfg)) {
		l.t.Fatalf("%s: config differs from Translate's\n--- got\n%s--- want\n%s", name, dump.Config(l.cfg), dump.Config(wantCfg))
	}
	if !reflect.DeepEqual(l.diags, wantDiags) {
		l.t.Fatalf("%s: diagnostics differ from Translate's\n--- got\n%s--- want\n%s", name, renderDiags(l.diags), renderDiags(wantDiags))
	}
}

// deterministic reports whether two Translates of sn deep-equal each
// other: client-certificate pools hold functions, which reflect.DeepEqual
// never finds equal, so for those configs the Dump is compared.
func deterministic(sn *store.Snapshot, opts Options) bool {
	a, _ := Translate(sn, opts)
	b, _ := Translate(sn, opts)
	return reflect.DeepEqual(a, b)
}

// world generates small, tangled object sets: few hosts, Services and
// timestamps, so that Ingresses share hosts and pools, conflict, tie in
// age, and name missing or endpoint-less Services.
type world struct {
	t    *testing.T
	rng  *rand.Rand
	gen  *certGen
	line int
	// gw: the world also has a Gateway and HTTPRoutes, whose hosts,
	// Services and Secret the Ingresses of c and d name now and then.
	gw bool
}

var (
	// Namespaces a and b hold Ingresses of every kind, c and d plain
	// ones only (annotated Ingresses make UpdateIngresses decline for
	// their namespace).
	incNamespaces = []string{"a", "b", "c", "d"}
	incHosts      = []string{"h0.example.com", "h1.example.com", "h2.example.com", "*.example.com", "H3.example.com.", "", "1.2.3.4"}
	incPaths      = []string{"/", "/api", "/api/", "/x", "/(a|b)"}
)

func (w *world) pick(l []string) string { return l[w.rng.IntN(len(l))] }

func (w *world) service(ns, name string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	switch w.rng.IntN(6) {
	case 0:
		svc.Spec.Type = corev1.ServiceTypeExternalName
		if w.rng.IntN(2) == 0 {
			svc.Spec.ExternalName = "ext.example.net"
		}
	case 1:
		svc.Spec.Ports = []corev1.ServicePort{{Port: 81}}
	default:
		svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}
	}
	return svc
}

func (w *world) slice(ns, svc string) *discoveryv1.EndpointSlice {
	port, name, ready, notReady := int32(8080), "http", true, false
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc + "-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}}}
	for i := range w.rng.IntN(3) {
		c := &ready
		if w.rng.IntN(4) == 0 {
			c = &notReady
		}
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0." + strconv.Itoa(i+w.rng.IntN(3))},
			Conditions: discoveryv1.EndpointConditions{Ready: c}})
	}
	return es
}

func (w *world) secret(ns, name string) *corev1.Secret {
	p := w.gen.pair(w.t, w.pick([]string{"h0.example.com", "h1.example.com,h2.example.com", "*.example.com"}), w.rng.IntN(5) == 0)
	crt, _ := base64.StdEncoding.DecodeString(p[0])
	key, _ := base64.StdEncoding.DecodeString(p[1])
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key}}
}

// weakSecret holds a self-signed certificate with a 1024-bit RSA key,
// which translate reports per Secret (certHealth).
func (w *world) weakSecret(ns, name string) *corev1.Secret {
	w.t.Helper()
	key, err := rsa.GenerateKey(crand.Reader, 1024)
	if err != nil {
		w.t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "h0.example.com"}, DNSNames: []string{"h0.example.com"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		w.t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		}}
}

func (w *world) configMap() *corev1.ConfigMap {
	data := map[string]string{}
	for _, kv := range [][2]string{{"ssl-redirect", "false"}, {"force-ssl-redirect", "true"}, {"hsts", "false"},
		{"whitelist-source-range", "10.0.0.0/8"}, {"no-auth-locations", "/x"}, {"http-redirect-code", "301"}, {"proxy-body-size", "bad"}} {
		if w.rng.IntN(4) == 0 {
			data[kv[0]] = kv[1]
		}
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "moat"}, Data: data}
}

func (w *world) backend() networkingv1.IngressBackend {
	sb := &networkingv1.IngressServiceBackend{Name: w.pick([]string{"s0", "s1", "s2", "s3", "missing"})}
	switch w.rng.IntN(3) {
	case 0:
		sb.Port.Name = "http"
	case 1:
		sb.Port.Number = 80
	default:
		sb.Port.Number = 81
	}
	return networkingv1.IngressBackend{Service: sb}
}

// ingress is plain (see plain) about two times in three, so that
// UpdateIngresses gets its chance often.
func (w *world) ingress(ns, name string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		CreationTimestamp: metav1.NewTime(time.Unix(int64(w.rng.IntN(4)), 0))}}
	moat := "moat"
	switch w.rng.IntN(8) {
	case 0:
		other := "other"
		ing.Spec.IngressClassName = &other
	case 1:
	default:
		ing.Spec.IngressClassName = &moat
	}
	plainOnly := ns == "c" || ns == "d" || w.rng.IntN(3) > 0
	host := func() string {
		switch {
		case !plainOnly && w.rng.IntN(2) == 0:
			return w.pick(incHosts)
		case w.rng.IntN(6) == 0:
			return w.pick(incHosts[:5])
		}
		return "n" + strconv.Itoa(w.rng.IntN(200)) + ".example.com"
	}
	for range 1 + w.rng.IntN(2) {
		r := networkingv1.IngressRule{Host: host()}
		if w.rng.IntN(6) > 0 {
			r.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for range 1 + w.rng.IntN(2) {
				p := networkingv1.HTTPIngressPath{Path: w.pick(incPaths), Backend: w.backend()}
				switch w.rng.IntN(4) {
				case 0:
					t := networkingv1.PathTypeExact
					p.PathType = &t
				case 1:
					t := networkingv1.PathTypeImplementationSpecific
					p.PathType = &t
				case 2:
					if w.rng.IntN(3) == 0 {
						break // nil: PathTypeMissing
					}
					fallthrough
				default:
					t := networkingv1.PathTypePrefix
					p.PathType = &t
				}
				r.HTTP.Paths = append(r.HTTP.Paths, p)
			}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, r)
	}
	if w.rng.IntN(3) == 0 {
		ing.Spec.TLS = w.tls(ing)
	}
	if plainOnly {
		return ing
	}
	if w.rng.IntN(3) == 0 {
		ing.Spec.Rules = ing.Spec.Rules[:w.rng.IntN(len(ing.Spec.Rules)+1)]
		b := w.backend()
		ing.Spec.DefaultBackend = &b
	}
	if w.rng.IntN(2) == 0 {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{w.pick(incHosts[:5])}, SecretName: w.pick([]string{"tls0", "tls1", "nope"})}}
	}
	ann := map[string]string{}
	p := "nginx.ingress.kubernetes.io/"
	for _, kv := range [][2]string{{"rewrite-target", "/$1"}, {"use-regex", "true"}, {"ssl-redirect", "false"},
		{"canary", "true"}, {"canary-weight", "30"}, {"server-alias", "alias.example.com"}, {"from-to-www-redirect", "true"},
		{"default-backend", "s1"}, {"app-root", "/app"}, {"backend-protocol", "HTTPS"}, {"service-upstream", "true"},
		{"custom-http-errors", "503"}, {"unknown-key", "x"}} {
		odds := 6
		if kv[0] == "server-alias" || kv[0] == "from-to-www-redirect" {
			odds = 150 // they make UpdateIngresses decline everywhere
		}
		if w.rng.IntN(odds) == 0 {
			ann[p+kv[0]] = kv[1]
		}
	}
	if w.rng.IntN(8) == 0 {
		ann["kubernetes.io/ingress.class"] = "moat"
		ing.Spec.IngressClassName = nil
	}
	if len(ann) > 0 {
		ing.Annotations = ann
	}
	return ing
}

// tls is a spec.tls for ing: entries listing its rule hosts, other hosts
// or none, naming Secrets that exist (shared by the namespace's
// Ingresses), a missing one, none, or one of another namespace.
func (w *world) tls(ing *networkingv1.Ingress) []networkingv1.IngressTLS {
	var out []networkingv1.IngressTLS
	for range 1 + w.rng.IntN(2) {
		var e networkingv1.IngressTLS
		switch w.rng.IntN(4) {
		case 0, 1:
			e.Hosts = []string{ing.Spec.Rules[w.rng.IntN(len(ing.Spec.Rules))].Host}
		case 2:
			e.Hosts = []string{w.pick(incHosts[:5])}
		}
		e.SecretName = w.pick([]string{"tls0", "tls0", "tls1", "weak", "nope", "", "a/tls0"})
		out = append(out, e)
	}
	return out
}

var incSeeds = flag.Int("inc-seeds", 12, "random sequences TestUpdateIngressesMatchesTranslate runs")

// TestUpdateIngressesMatchesTranslate applies random sequences of changes
// (Ingress edits, adds and deletes, alone and in batches; Service,
// EndpointSlice, Secret, ConfigMap and IngressClass changes) to a store
// and checks, after every pass, that the incremental result deep-equals
// a full Translate, and that the incremental path did serve passes.
func TestUpdateIngressesMatchesTranslate(t *testing.T) {
	gen := newCertGen(t)
	seeds, steps := *incSeeds, 250
	if testing.Short() {
		seeds = min(seeds, 3)
	}
	var fast, full, eps, passes, gwFast, gwPasses, gwRoutes int
	for seed := range seeds {
		w := &world{t: t, rng: rand.New(rand.NewPCG(uint64(seed), 7)), gen: gen}
		st := store.New()
		var objs []store.Object
		put := func(o store.Object) { objs = append(objs, o) }
		for _, ns := range incNamespaces {
			for i := range 4 {
				name := "s" + strconv.Itoa(i)
				put(store.Object{Obj: w.service(ns, name), Origin: w.origin()})
				put(store.Object{Obj: w.slice(ns, name), Origin: w.origin()})
			}
			put(store.Object{Obj: w.secret(ns, "tls0"), Origin: w.origin()})
			put(store.Object{Obj: w.secret(ns, "tls1"), Origin: w.origin()})
			put(store.Object{Obj: w.weakSecret(ns, "weak"), Origin: w.origin()})
			for i := range 8 {
				put(store.Object{Obj: w.ingress(ns, "ing"+strconv.Itoa(i)), Origin: w.origin()})
			}
		}
		if seed%3 == 2 {
			w.gw = true
			for _, o := range w.gatewayObjects() {
				put(store.Object{Obj: o, Origin: w.origin()})
			}
		}
		put(store.Object{Obj: w.configMap(), Origin: w.origin()})
		put(store.Object{Obj: &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"},
			Spec: networkingv1.IngressClassSpec{Controller: DefaultControllerClass}}, Origin: w.origin()})
		st.Replace(objs, nil)
		opts := Options{IngressClass: "moat", ConfigMap: "kube-system/moat", DefaultSSLCertificate: "a/tls0",
			Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), WatchWithoutClass: seed%2 == 0}
		if seed%2 == 1 {
			// A Service plain Ingresses use too, so their pools meet
			// --default-backend-service's.
			opts.DefaultBackendService = "c/s0"
		}
		l := &loopSim{t: t, st: st, opts: opts}
		l.pass(fmt.Sprintf("seed %d start", seed))
		for step := range steps {
			what := w.step(st)
			l.pass(fmt.Sprintf("seed %d step %d (%s)", seed, step, what))
		}
		fast, full, eps, passes = fast+l.fast, full+l.full, eps+l.eps, passes+l.passes
		if w.gw {
			gwFast, gwPasses, gwRoutes = gwFast+l.fast, gwPasses+l.passes, gwRoutes+l.routes
		}
	}
	t.Logf("%d passes: %d by UpdateIngresses, %d by UpdateEndpoints, %d full; with Gateway API objects %d of %d by UpdateIngresses, %d by UpdateHTTPRoutes",
		passes, fast, eps, full, gwFast, gwPasses, gwRoutes)
	if gwPasses > 0 && gwFast < gwPasses/20 {
		t.Errorf("with Gateway API objects UpdateIngresses served %d of %d passes", gwFast, gwPasses)
	}
	if fast < passes/8 {
		t.Errorf("UpdateIngresses served %d of %d passes; the generator should exercise it more", fast, passes)
	}
}

func (w *world) origin() diag.Origin {
	w.line++
	return diag.Origin{File: "gen.yaml", Line: w.line}
}

// gatewayObjects are a GatewayClass of moat's, a Gateway in c with an
// HTTP listener and an HTTPS one for *.example.com (Secret c/tls0), a
// Service g0 in c and d that only routes use (so that a route and an
// Ingress share a host without sharing a Service), and three HTTPRoutes.
func (w *world) gatewayObjects() []runtime.Object {
	all := gatewayv1.NamespacesFromAll
	allowed := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &all}}
	wild := gatewayv1.Hostname("*.example.com")
	out := []runtime.Object{
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"}, Spec: gatewayv1.GatewayClassSpec{ControllerName: gateway.DefaultControllerName}},
		&gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: "gw"}, Spec: gatewayv1.GatewaySpec{GatewayClassName: "moat",
			Listeners: []gatewayv1.Listener{
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80, AllowedRoutes: allowed},
				{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, Hostname: &wild, AllowedRoutes: allowed,
					TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "tls0"}}}},
			}}},
	}
	for _, ns := range []string{"c", "d"} {
		out = append(out, w.service(ns, "g0"), w.slice(ns, "g0"))
	}
	for i := range 3 {
		out = append(out, w.httpRoute(w.pick([]string{"c", "d"}), "r"+strconv.Itoa(i)))
	}
	return out
}

// httpRoute attaches to c/gw with a host an Ingress of c or d may name
// (one of the first 20 generated ones, or a shared one) and a Service
// they may use.
func (w *world) httpRoute(ns, name string) *gatewayv1.HTTPRoute {
	gwns := gatewayv1.Namespace("c")
	host := "n" + strconv.Itoa(w.rng.IntN(20)) + ".example.com"
	if w.rng.IntN(4) == 0 {
		host = w.pick([]string{"h0.example.com", "h1.example.com", "*.example.com"})
	}
	port := gatewayv1.PortNumber(80 + w.rng.IntN(2))
	return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(w.rng.IntN(4)), 0))},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", Namespace: &gwns}}},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(host)},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(w.pick([]string{"g0", "g0", "g0", "s0", "s1", "s2", "s3", "missing"})), Port: &port}}}}}},
		}}
}

// step makes one random change to the store and says what it was.
func (w *world) step(st *store.Store) string {
	if w.gw && w.rng.IntN(12) == 0 {
		ns, name := w.pick([]string{"c", "d"}), "r"+strconv.Itoa(w.rng.IntN(4))
		if w.rng.IntN(4) == 0 {
			st.Delete(store.Key{Kind: store.KindHTTPRoute, Namespace: ns, Name: name})
			return "delete httproute " + ns + "/" + name
		}
		st.Upsert(store.Object{Obj: w.httpRoute(ns, name), Origin: w.origin()})
		return "edit httproute " + ns + "/" + name
	}
	ns := w.pick(incNamespaces)
	ing := "ing" + strconv.Itoa(w.rng.IntN(8))
	if w.rng.IntN(2) == 0 {
		ns = w.pick(incNamespaces[2:]) // plain Ingresses: UpdateIngresses's share
	}
	switch r := w.rng.IntN(100); {
	case r < 45:
		st.Upsert(store.Object{Obj: w.ingress(ns, ing), Origin: w.origin()})
		return "edit ingress " + ns + "/" + ing
	case r < 55:
		st.Delete(store.Key{Kind: store.KindIngress, Namespace: ns, Name: ing})
		return "delete ingress " + ns + "/" + ing
	case r < 62:
		var b store.Batch
		for range 2 + w.rng.IntN(3) {
			n := "ing" + strconv.Itoa(w.rng.IntN(10))
			ns := w.pick(incNamespaces)
			if w.rng.IntN(4) == 0 {
				b.Deletes = append(b.Deletes, store.Key{Kind: store.KindIngress, Namespace: ns, Name: n})
			} else {
				b.Upserts = append(b.Upserts, store.Object{Obj: w.ingress(ns, n), Origin: w.origin()})
			}
		}
		if w.rng.IntN(3) == 0 {
			// The sources' findings: none, a file's, or one naming an
			// Ingress (as a legacy-version warning does).
			switch w.rng.IntN(3) {
			case 0:
				b.Diagnostics = nil
			case 1:
				b.Diagnostics = []diag.Diagnostic{{Object: diag.ObjectRef{Origin: diag.Origin{File: "gen.yaml"}}, Severity: diag.Error, Reason: "ParseError", Message: w.pick([]string{"x", "y"})}}
			default:
				b.Diagnostics = []diag.Diagnostic{{Object: diag.ObjectRef{Kind: store.KindIngress, Namespace: w.pick(incNamespaces), Name: "ing" + strconv.Itoa(w.rng.IntN(3)),
					Origin: diag.Origin{File: "gen.yaml", Line: 1}}, Severity: diag.Warning, Reason: "LegacyVersion", Message: "x"}}
			}
			b.SetDiagnostics = true
		}
		st.Apply(b)
		return "ingress batch"
	case r < 70:
		svc := "s" + strconv.Itoa(w.rng.IntN(4))
		st.Upsert(store.Object{Obj: w.service(ns, svc), Origin: w.origin()})
		return "service " + ns + "/" + svc
	case r < 82:
		svc := "s" + strconv.Itoa(w.rng.IntN(4))
		st.Upsert(store.Object{Obj: w.slice(ns, svc), Origin: w.origin()})
		return "endpoints " + ns + "/" + svc
	case r < 87:
		name := w.pick([]string{"tls0", "tls1"})
		if w.rng.IntN(4) == 0 {
			st.Delete(store.Key{Kind: store.KindSecret, Namespace: ns, Name: name})
			return "delete secret " + ns + "/" + name
		}
		st.Upsert(store.Object{Obj: w.secret(ns, name), Origin: w.origin()})
		return "rotate secret " + ns + "/" + name
	case r < 93:
		st.Upsert(store.Object{Obj: w.configMap(), Origin: w.origin()})
		return "controller configmap"
	case r < 96:
		ctrl := DefaultControllerClass
		if w.rng.IntN(2) == 0 {
			ctrl = "example.com/other"
		}
		ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: networkingv1.IngressClassSpec{Controller: ctrl}}
		if w.rng.IntN(3) == 0 {
			ic.Annotations = map[string]string{defaultClassAnnot: "true"}
		}
		st.Upsert(store.Object{Obj: ic, Origin: w.origin()})
		return "ingressclass other"
	default:
		// The same objects again: a change record without a difference.
		sn := st.Snapshot()
		if len(sn.Ingresses) > 0 {
			ing := sn.Ingresses[w.rng.IntN(len(sn.Ingresses))]
			st.Upsert(store.Object{Obj: ing, Origin: sn.Origin(store.KindIngress, ing.Namespace, ing.Name)})
		}
		return "rewrite unchanged ingress"
	}
}

// TestUpdateIngressesGolden: for every golden input, each Ingress edited
// (host moved to a fresh name, path added, backend swapped) or deleted
// alone gives, through UpdateIngresses, exactly what Translate gives.
func TestUpdateIngressesGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files found: %v", err)
	}
	gen := newCertGen(t)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sec := splitSections(string(raw))
		opts := parseOptions(t, sec["options"])
		objs, ds := k8s.Decode([]byte(gen.expand(t, sec["input"])), "input.yaml")
		for _, o := range objs {
			ing, ok := o.Obj.(*networkingv1.Ingress)
			if !ok {
				continue
			}
			for _, edit := range goldenEdits {
				st := store.New()
				st.Replace(objs, ds)
				l := &loopSim{t: t, st: st, opts: opts}
				l.pass(f)
				name := fmt.Sprintf("%s: %s/%s: %s", filepath.Base(f), ing.Namespace, ing.Name, edit.name)
				if next := edit.fn(ing.DeepCopy()); next == nil {
					st.Delete(store.Key{Kind: store.KindIngress, Namespace: ing.Namespace, Name: ing.Name})
				} else {
					st.Upsert(store.Object{Obj: next, Origin: o.Origin})
				}
				l.pass(name)
				st.Upsert(o) // and back
				l.pass(name + ", undone")
			}
		}
	}
}

var goldenEdits = []struct {
	name string
	fn   func(*networkingv1.Ingress) *networkingv1.Ingress
}{
	{"delete", func(*networkingv1.Ingress) *networkingv1.Ingress { return nil }},
	{"fresh host", func(ing *networkingv1.Ingress) *networkingv1.Ingress {
		for i := range ing.Spec.Rules {
			ing.Spec.Rules[i].Host = "fresh" + strconv.Itoa(i) + ".example.org"
		}
		return ing
	}},
	{"path added", func(ing *networkingv1.Ingress) *networkingv1.Ingress {
		pt := networkingv1.PathTypePrefix
		for i := range ing.Spec.Rules {
			if h := ing.Spec.Rules[i].HTTP; h != nil && len(h.Paths) > 0 {
				h.Paths = append(h.Paths, networkingv1.HTTPIngressPath{Path: "/added", PathType: &pt, Backend: h.Paths[0].Backend})
			}
		}
		return ing
	}},
	{"backend port", func(ing *networkingv1.Ingress) *networkingv1.Ingress {
		for i := range ing.Spec.Rules {
			if h := ing.Spec.Rules[i].HTTP; h != nil {
				for j := range h.Paths {
					if s := h.Paths[j].Backend.Service; s != nil {
						s.Port = networkingv1.ServiceBackendPort{Number: 8081}
					}
				}
			}
		}
		return ing
	}},
}
