package translate

import (
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/diagmerge"
)

// Incremental is what UpdateIngresses needs to know about the last
// translate besides its config: which Ingresses name which hosts and
// pools, and translate's own diagnostics in the order they were found. It
// is owned by one caller (the reconcile loop), not safe for concurrent
// use, and advanced in place by a successful UpdateIngresses: a caller
// whose apply of that result fails must drop it and translate in full.
type Incremental struct {
	opts Options // Now, Certs and WAF zeroed
	// now is the full translate's clock: UpdateIngresses judges the
	// validity of the changed Ingresses' certificates as of it, as it
	// keeps the others' findings.
	now  time.Time
	ctrl controllerconfig.Config
	// own are translate's diagnostics, without the snapshot's, grouped
	// by the object they name (diag.ObjectRef.String), each group in the
	// order a full translate found them: diag.Sort is stable, and only
	// diagnostics naming one object can tie, so that order is all of
	// translate's the sorted result depends on. A change to an Ingress
	// replaces its group without copying thousands of others'.
	own map[string][]diag.Diagnostic
	// hostLevel is set when some Ingress adds hosts that no rule names
	// (server-alias, from-to-www-redirect), or a Gateway has sockets of
	// its own: UpdateIngresses declines.
	hostLevel bool
	// gw is what the Gateway API step named: a changed Ingress naming
	// any of it declines.
	gw gwUses
	// hostN and poolN count the routes naming each host key and pool
	// key (UpdateHTTPRoutes; built on its first call).
	hostN, poolN map[string]int
	// hosts and pools count, per rule host ("" for the catch-all) and
	// per pool key of a spec backend, the claimed Ingresses naming it
	// (once per rule or backend).
	hosts, pools map[string]int
	// annotated counts the claimed Ingresses with annotations per
	// namespace: their pools may carry keys the spec does not show
	// (default-backend, protocol suffixes), so a change to another
	// Ingress of the namespace declines.
	annotated map[string]int
	// secrets counts, per "namespace/name", the claimed Ingresses whose
	// spec.tls names the Secret (once per entry): translate loads each
	// such Secret into the config's certificates.
	secrets map[string]int
	// claimed are the claimed Ingresses by "namespace/name".
	claimed map[string]*networkingv1.Ingress
	// sorted is the last result's diagnostics and source the snapshot's
	// it merged: while source is unchanged, UpdateIngresses splices the
	// changed Ingresses' diagnostics into sorted instead of copying and
	// sorting thousands per change (diagmerge.Splice).
	sorted, source []diag.Diagnostic
}

// TranslateIncremental is Translate, also returning the state
// UpdateIngresses needs to apply later Ingress changes to the result.
func TranslateIncremental(sn *store.Snapshot, opts Options) (*routecfg.Config, []diag.Diagnostic, *Incremental) {
	t := newTranslator(sn, opts)
	t.run()
	inc := &Incremental{opts: stateOpts(opts), now: opts.Now, ctrl: t.Ctrl, own: map[string][]diag.Diagnostic{},
		hosts: map[string]int{}, pools: map[string]int{}, annotated: map[string]int{}, secrets: map[string]int{},
		claimed: make(map[string]*networkingv1.Ingress, len(t.claims))}
	if t.pol.AddsHosts() {
		inc.hostLevel = true
	}
	// Gateway API hosts sit beside the Ingresses' and their pools and
	// certificates are shared: an Ingress naming none of them translates
	// alone as before.
	inc.gw = t.gwUses
	if t.gwUses.sockets {
		inc.hostLevel = true
	}
	for ing := range t.claims {
		inc.add(ing)
	}
	for _, d := range t.Diags {
		k := d.Object.String()
		inc.own[k] = append(inc.own[k], d)
	}
	inc.sorted, inc.source = t.sortedDiags(), sn.Diagnostics
	return t.Config, inc.sorted, inc
}

func stateOpts(o Options) Options {
	o.Now, o.Certs, o.WAF = time.Time{}, nil, nil
	return o
}

func ingKey(ing *networkingv1.Ingress) string { return ing.Namespace + "/" + ing.Name }

// refs lists the rule hosts and spec pool keys an Ingress names, as
// ingress and backendRoute derive them (without annotation suffixes).
func refs(ing *networkingv1.Ingress) (hosts, pools []string) {
	backend := func(b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil || b.Service.Name == "" {
			return
		}
		port := b.Service.Port.Name
		if port == "" {
			port = strconv.Itoa(int(b.Service.Port.Number))
		}
		pools = append(pools, ing.Namespace+"/"+b.Service.Name+":"+port)
	}
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, strings.ToLower(strings.TrimSuffix(r.Host, ".")))
		if r.HTTP != nil {
			for i := range r.HTTP.Paths {
				backend(&r.HTTP.Paths[i].Backend)
			}
		}
	}
	if ing.Spec.DefaultBackend != nil {
		if len(ing.Spec.Rules) == 0 {
			hosts = append(hosts, "")
		}
		backend(ing.Spec.DefaultBackend)
	}
	return hosts, pools
}

func (inc *Incremental) add(ing *networkingv1.Ingress)    { inc.count(ing, 1) }
func (inc *Incremental) remove(ing *networkingv1.Ingress) { inc.count(ing, -1) }

func (inc *Incremental) count(ing *networkingv1.Ingress, d int) {
	hosts, pools := refs(ing)
	bump := func(m map[string]int, k string) {
		if m[k] += d; m[k] == 0 {
			delete(m, k)
		}
	}
	for _, h := range hosts {
		bump(inc.hosts, h)
	}
	for _, p := range pools {
		bump(inc.pools, p)
	}
	for _, s := range tlsSecrets(ing) {
		bump(inc.secrets, s)
	}
	if len(ing.Annotations) > 0 {
		bump(inc.annotated, ing.Namespace)
	}
	if d > 0 {
		inc.claimed[ingKey(ing)] = ing
	} else {
		delete(inc.claimed, ingKey(ing))
	}
}

// tlsSecrets lists the Secrets an Ingress's spec.tls entries name, as
// translate loads them (tlsEntries): entries naming another namespace
// load nothing.
func tlsSecrets(ing *networkingv1.Ingress) []string {
	var out []string
	for _, e := range ing.Spec.TLS {
		if e.SecretName != "" && !strings.Contains(e.SecretName, "/") {
			out = append(out, ing.Namespace+"/"+e.SecretName)
		}
	}
	return out
}

// plain reports whether an Ingress (nil: absent) is one whose translation
// UpdateIngresses can isolate: no annotations (no policy, canary, TLS
// annotation or host-level setting), no defaultBackend and no rule
// without a host (no catch-all). spec.tls is fine: its certificates are
// shared by Secret, and UpdateIngresses adds and drops them by count.
func plain(ing *networkingv1.Ingress) bool {
	if ing == nil {
		return true
	}
	if len(ing.Annotations) > 0 || ing.Spec.DefaultBackend != nil || len(ing.Spec.Rules) == 0 {
		return false
	}
	for _, r := range ing.Spec.Rules {
		if strings.TrimSuffix(r.Host, ".") == "" {
			return false
		}
	}
	return true
}

// UpdateIngresses is Translate for a change to Ingresses only: sn must
// differ from the snapshot of prev (the config of the last translate,
// possibly with endpoints updated by UpdateEndpoints since) only in the
// Ingresses of c (whose values are the previous ones) and in the
// sources' diagnostics. It translates the changed Ingresses alone and
// splices the result into prev; the diagnostics are Translate's, with
// certificate validity as of the last full translate (as UpdateEndpoints).
//
// ok is false, and inc unchanged, when the changed Ingresses' output
// could depend on other Ingresses or on objects they share, and the
// caller must translate in full: an Ingress that is not plain (before or
// after), a host another Ingress names, a pool another Ingress uses that
// has no endpoints (its NoReadyEndpoints warning names the oldest user),
// a namespace with annotated Ingresses (they may load the namespace's
// Secrets too), a host, Service or Secret a Gateway API object names too,
// a certificate with health findings that joins or leaves
// the config (spliceCerts), or different options.
func UpdateIngresses(inc *Incremental, prev *routecfg.Config, sn *store.Snapshot, c store.Changes, opts Options) (*routecfg.Config, []diag.Diagnostic, bool) {
	if inc == nil || prev == nil || inc.hostLevel || c.All || len(c.Keys) == 0 || stateOpts(opts) != inc.opts {
		return nil, nil, false
	}
	changedKeys := map[store.Key]bool{} // Ingress keys
	var olds, news []*networkingv1.Ingress
	for k, before := range c.Keys {
		if k.Kind != store.KindIngress {
			return nil, nil, false
		}
		key := k.Namespace + "/" + k.Name
		changedKeys[k] = true
		old, _ := before.Obj.(*networkingv1.Ingress)
		var cur *networkingv1.Ingress
		if o, ok := sn.Get(k); ok {
			cur, _ = o.Obj.(*networkingv1.Ingress)
		}
		if !plain(old) || !plain(cur) || inc.annotated[k.Namespace] > 0 || inc.gw.names(old) || inc.gw.names(cur) {
			return nil, nil, false
		}
		if was, ok := inc.claimed[key]; ok {
			if was != old {
				return nil, nil, false // the state is not the one c is relative to
			}
			olds = append(olds, old)
		}
		if cur != nil {
			news = append(news, cur)
		}
	}

	// Translate the changed Ingresses alone, as Translate would: class
	// first (in snapshot order: the diagnostics' order), then by age.
	s := newTranslator(sn, opts)
	s.Ctrl, s.Opts.Now = inc.ctrl, inc.now
	sort.Slice(news, func(i, j int) bool { return ingKey(news[i]) < ingKey(news[j]) })
	claimed := s.claim(news)
	for _, ing := range claimed {
		s.b.Ingress(ing)
	}
	s.finish()
	if s.b.Shared() || s.pol.HostAnnotated() {
		return nil, nil, false
	}
	for _, d := range s.Diags {
		if d.Object.Kind != store.KindIngress || !changedKeys[store.Key{Kind: store.KindIngress, Namespace: d.Object.Namespace, Name: d.Object.Name}] {
			return nil, nil, false
		}
	}

	// What the other Ingresses name: the index without the changed ones.
	others := func(m map[string]int, pick func(*networkingv1.Ingress) []string, k string) int {
		n := m[k]
		for _, ing := range olds {
			for _, x := range pick(ing) {
				if x == k {
					n--
				}
			}
		}
		return n
	}
	hostsOf := func(ing *networkingv1.Ingress) []string { h, _ := refs(ing); return h }
	poolsOf := func(ing *networkingv1.Ingress) []string { _, p := refs(ing); return p }
	oldHosts, keys, newKeys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ing := range olds {
		for _, h := range hostsOf(ing) {
			oldHosts[h] = true
		}
		for _, p := range poolsOf(ing) {
			keys[p] = true
		}
	}
	for _, ing := range claimed {
		for _, h := range hostsOf(ing) {
			if others(inc.hosts, hostsOf, h) > 0 {
				return nil, nil, false
			}
		}
		for _, p := range poolsOf(ing) {
			keys[p], newKeys[p] = true, true
		}
	}
	for h := range oldHosts {
		if others(inc.hosts, hostsOf, h) > 0 {
			return nil, nil, false
		}
	}
	for k := range s.Config.Pools {
		if !keys[k] {
			return nil, nil, false // a pool the spec does not show
		}
	}
	if d := prev.DefaultBackend; d != nil && keys[d.Pool] {
		return nil, nil, false // --default-backend-service's pool: kept whoever else uses it
	}
	// The changed Ingresses' diagnostics about the Services they use
	// (ExternalNameEmpty) cannot be told from other Ingresses'.
	services := map[string]bool{}
	for k := range keys {
		services[k[:strings.LastIndexByte(k, ':')]] = true
	}
	for svc := range services {
		ns, name, _ := strings.Cut(svc, "/")
		if len(inc.own[diag.ObjectRef{Kind: store.KindService, Namespace: ns, Name: name}.String()]) > 0 {
			return nil, nil, false
		}
	}
	vhs := make([]*routecfg.VirtualHost, 0, len(prev.VirtualHosts)+len(s.Config.VirtualHosts))
	for _, vh := range prev.VirtualHosts {
		if !oldHosts[vh.Host] {
			vhs = append(vhs, vh)
		}
	}
	// Pools are cloned only when one changes: the data plane leaves its
	// pools alone when the map holds the same ones.
	var pools map[string]*routecfg.Pool
	set := func(k string, p *routecfg.Pool) {
		if pools == nil {
			pools = maps.Clone(prev.Pools)
		}
		if p != nil {
			pools[k] = p
		} else {
			delete(pools, k)
		}
	}
	for k := range keys {
		was, now := prev.Pools[k], s.Config.Pools[k]
		if others(inc.pools, poolsOf, k) == 0 {
			if was != now && (was == nil || now == nil || !reflect.DeepEqual(was, now)) {
				set(k, now)
			}
			continue
		}
		// Named by an unchanged Ingress too: the same pool, built from
		// the same Service whoever is oldest, unless it has no endpoints
		// (the warning names the oldest user).
		switch {
		case was == nil && now == nil:
		case was == nil || len(was.Endpoints) == 0:
			return nil, nil, false
		case !newKeys[k]:
			// The index also counts backends that build nothing (a path
			// that lost a conflict): look for a remaining user.
			if !poolUsed(k, vhs, prev.CatchAll) {
				set(k, nil)
			}
		case now == nil || !reflect.DeepEqual(was, now):
			return nil, nil, false
		}
	}

	for _, vh := range s.Config.VirtualHosts {
		i, found := slices.BinarySearchFunc(vhs, vh.Host, func(v *routecfg.VirtualHost, h string) int { return strings.Compare(v.Host, h) })
		if found {
			return nil, nil, false
		}
		vhs = slices.Insert(vhs, i, vh)
	}

	certs, ok := spliceCerts(inc, prev, s, olds)
	if !ok {
		return nil, nil, false
	}

	// about is asked for each of thousands of diagnostics per change: a
	// few changed keys are compared directly (hashing, or concatenating
	// "namespace/name", showed in profiles).
	var few []store.Key
	if len(changedKeys) <= 4 {
		few = slices.Collect(maps.Keys(changedKeys))
	}
	about := func(d *diag.Diagnostic) bool {
		if d.Object.Kind != store.KindIngress {
			return false
		}
		if few == nil {
			return changedKeys[store.Key{Kind: store.KindIngress, Namespace: d.Object.Namespace, Name: d.Object.Name}]
		}
		for _, k := range few {
			if k.Name == d.Object.Name && k.Namespace == d.Object.Namespace {
				return true
			}
		}
		return false
	}
	// The changed Ingresses' diagnostics name only them (checked
	// above): their groups are replaced. Nothing below declines.
	for k := range changedKeys {
		delete(inc.own, diag.ObjectRef{Kind: store.KindIngress, Namespace: k.Namespace, Name: k.Name}.String())
	}
	for _, d := range s.Diags {
		k := d.Object.String()
		inc.own[k] = append(inc.own[k], d)
	}
	sorted, ok := diagmerge.Splice(inc.sorted, inc.source, sn.Diagnostics, about, s.Diags)
	if !ok {
		var own []diag.Diagnostic
		for _, ds := range inc.own {
			own = append(own, ds...) // groups never tie: any order sorts the same
		}
		sorted = diagmerge.Merge(sn.Diagnostics, own)
	}

	if len(vhs) == 0 {
		vhs = nil // as Translate leaves it
	}
	if pools == nil {
		pools = prev.Pools
	}
	cfg := *prev
	cfg.VirtualHosts, cfg.Pools, cfg.Certificates = vhs, pools, certs
	for _, ing := range olds {
		inc.remove(ing)
	}
	for _, ing := range claimed {
		inc.add(ing)
	}
	inc.sorted, inc.source = sorted, sn.Diagnostics
	return &cfg, sorted, true
}

// spliceCerts is the certificates of prev with the changes of the
// Ingresses olds became in s: translate loads every Secret a claimed
// Ingress's spec.tls names (and the default certificate), so a Secret
// the new Ingresses load joins (prev's entry is kept when it holds the
// same parsed pair, so that the data plane sees the same certificates),
// and one only olds named leaves. ok is false when a joining or leaving
// certificate has health findings (certHealth reports them per Secret,
// after every Ingress). The map is cloned only when it changes.
func spliceCerts(inc *Incremental, prev *routecfg.Config, s *translator, olds []*networkingv1.Ingress) (map[string]*routecfg.Certificate, bool) {
	var out map[string]*routecfg.Certificate
	set := func(ref string, c *routecfg.Certificate) {
		if out == nil {
			out = maps.Clone(prev.Certificates)
			if out == nil {
				out = map[string]*routecfg.Certificate{}
			}
		}
		if c != nil {
			out[ref] = c
		} else {
			delete(out, ref)
		}
	}
	healthy := func(c *routecfg.Certificate) bool {
		h := s.Certs.Health(c.Cert)
		for _, w := range h.Weak {
			if len(w) > 0 {
				return false
			}
		}
		return h.Order == ""
	}
	for ref, c := range s.Config.Certificates {
		switch was := prev.Certificates[ref]; {
		case was != nil && was.Cert == c.Cert:
		case was == nil && !healthy(c):
			return nil, false
		default:
			set(ref, c)
		}
	}
	for _, ing := range olds {
		for _, ref := range tlsSecrets(ing) {
			was := prev.Certificates[ref]
			if _, loaded := s.Config.Certificates[ref]; loaded || was == nil || prev.DefaultCertificate != nil && prev.DefaultCertificate.Ref == ref {
				continue
			}
			n := inc.secrets[ref]
			for _, o := range olds {
				for _, r := range tlsSecrets(o) {
					if r == ref {
						n--
					}
				}
			}
			if n > 0 {
				continue // another Ingress loads it
			}
			if !healthy(was) {
				return nil, false
			}
			set(ref, nil)
		}
	}
	if out == nil {
		return prev.Certificates, true
	}
	return out, true
}

// poolUsed reports whether a host of vhs or the catch-all refers to pool k.
func poolUsed(k string, vhs []*routecfg.VirtualHost, catchAll *routecfg.VirtualHost) bool {
	uses := func(vh *routecfg.VirtualHost) bool {
		if vh == nil {
			return false
		}
		if p := vh.Passthrough; p != nil && (p.Pool == k || slices.ContainsFunc(p.Backends, func(b routecfg.Backend) bool { return b.Pool == k })) {
			return true
		}
		for _, rt := range vh.Routes {
			if rt.Pool == k {
				return true
			}
			if p := rt.Policy; p != nil && (p.Canary != nil && p.Canary.Pool == k || p.ErrorPages != nil && (p.ErrorPages.Pool == k || p.ErrorPages.Backend == k)) {
				return true
			}
		}
		return false
	}
	if uses(catchAll) {
		return true
	}
	for _, vh := range vhs {
		if uses(vh) {
			return true
		}
	}
	return false
}
