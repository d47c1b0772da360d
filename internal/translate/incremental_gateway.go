package translate

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/diagmerge"
)

// UpdateHTTPRoutes is Translate for a change to HTTPRoutes only, as
// UpdateIngresses is for Ingresses: it translates the changed routes
// alone (with the snapshot's other Gateway API objects, but no other
// route) and splices their hosts, pools and diagnostics into prev.
//
// ok is false, and inc unchanged, when their output could depend on
// anything else, and the caller must translate in full: a host another
// route attached on or an Ingress names (or the catch-all), a pool
// another route or an Ingress uses that has no endpoints or is built
// differently, Gateway or listener diagnostics that
// differ with the changed routes, a different default certificate,
// Gateways with sockets of their own, or different options.
func UpdateHTTPRoutes(inc *Incremental, prev *routecfg.Config, sn *store.Snapshot, c store.Changes, opts Options) (*routecfg.Config, []diag.Diagnostic, bool) {
	if inc == nil || prev == nil || inc.hostLevel || inc.gw.sockets || c.All || len(c.Keys) == 0 || stateOpts(opts) != inc.opts {
		return nil, nil, false
	}
	changed := map[string]bool{} // "HTTPRoute/namespace/name"
	var olds, news []*gatewayv1.HTTPRoute
	for k, before := range c.Keys {
		if k.Kind != store.KindHTTPRoute {
			return nil, nil, false
		}
		changed[k.Kind+"/"+k.Namespace+"/"+k.Name] = true
		if o, ok := before.Obj.(*gatewayv1.HTTPRoute); ok {
			olds = append(olds, o)
		}
		if o, ok := sn.GatewayAPI[k].(*gatewayv1.HTTPRoute); ok {
			news = append(news, o)
		}
	}
	inc.countRoutes()
	// oldHosts and oldPools count the changed routes naming each, so
	// that the index's count minus theirs is the other routes'.
	oldHosts, oldPools := map[string]int{}, map[string]int{}
	for rk := range changed {
		for _, h := range inc.gw.routeHosts[rk] {
			oldHosts[h]++
		}
		for _, p := range inc.gw.routePools[rk] {
			oldPools[p]++
		}
	}
	for h, n := range oldHosts {
		if inc.hostN[h] > n {
			return nil, nil, false // another route attached on it too
		}
	}
	// shared: pools other routes use (many routes to one Service is
	// common).
	shared := func(p string) bool { return inc.poolN[p] > oldPools[p] }

	// The changed routes alone, and no route at all: the Gateway and
	// listener diagnostics must be the same.
	base, _ := inc.translateRoutes(sn, opts, nil)
	was, _ := inc.translateRoutes(sn, opts, olds)
	s, hostsOf := inc.translateRoutes(sn, opts, news)
	if s.gwUses.sockets || s.gwUses.defaultCert != inc.gw.defaultCert {
		return nil, nil, false
	}
	about := func(d *diag.Diagnostic) bool {
		return d.Object.Kind == store.KindHTTPRoute && changed[d.Object.Kind+"/"+d.Object.Namespace+"/"+d.Object.Name]
	}
	others := func(ds []diag.Diagnostic) []diag.Diagnostic {
		var out []diag.Diagnostic
		for i := range ds {
			if !about(&ds[i]) {
				out = append(out, ds[i])
			}
		}
		return out
	}
	if baseOthers := others(base.Diags); !reflect.DeepEqual(others(was.Diags), baseOthers) || !reflect.DeepEqual(others(s.Diags), baseOthers) {
		return nil, nil, false
	}

	// Hosts: the new ones must be free (of Ingresses, other routes and
	// the catch-all) unless the old routes had them.
	newHosts := map[string]bool{}
	for _, hs := range hostsOf {
		for _, h := range hs {
			newHosts[h] = true
		}
	}
	for h := range newHosts {
		if h == "" || inc.hosts[h] > 0 || inc.hostN[h] > oldHosts[h] {
			return nil, nil, false
		}
	}
	for h := range oldHosts {
		if h == "" || inc.hosts[h] > 0 {
			return nil, nil, false
		}
	}
	vhs := make([]*routecfg.VirtualHost, 0, len(prev.VirtualHosts)+len(s.gwHosts))
	for _, vh := range prev.VirtualHosts {
		if oldHosts[vh.Host] == 0 {
			vhs = append(vhs, vh)
		}
	}
	for _, vh := range s.gwHosts {
		if vh.Host == "" {
			return nil, nil, false
		}
		i, found := slices.BinarySearchFunc(vhs, vh.Host, func(v *routecfg.VirtualHost, h string) int { return strings.Compare(v.Host, h) })
		if found {
			return nil, nil, false
		}
		vhs = slices.Insert(vhs, i, vh)
	}

	// Pools: one the changed routes alone use follows them; one someone
	// else uses too (another route, an Ingress, the default backend) is
	// the same pool whoever built it, unless it has no endpoints (the
	// warning names the first user).
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
	newPools := map[string]bool{}
	for rk := range changed {
		for _, p := range s.gwUses.routePools[rk] {
			newPools[p] = true
		}
	}
	for k := range s.Config.Pools {
		if !newPools[k] {
			return nil, nil, false // a pool no changed route asked for
		}
	}
	keys := maps.Clone(newPools)
	for p := range oldPools {
		keys[p] = true
	}
	for p := range keys {
		w, n := prev.Pools[p], s.Config.Pools[p]
		other := shared(p) || inc.gw.ingressPools[p] || w != nil && oldPools[p] == 0
		if !other {
			if w != n && (w == nil || n == nil || !reflect.DeepEqual(w, n)) {
				set(p, n)
			}
			continue
		}
		switch {
		case w == nil && n == nil:
		case w == nil || len(w.Endpoints) == 0:
			return nil, nil, false
		case !newPools[p]:
			// Only the old routes had it among the changed ones:
			// the others keep it.
		case n == nil || !reflect.DeepEqual(w, n):
			return nil, nil, false
		}
	}

	// Diagnostics: the changed routes' groups are replaced. Nothing
	// below declines.
	for rk := range changed {
		kind, rest, _ := strings.Cut(rk, "/")
		ns, name, _ := strings.Cut(rest, "/")
		delete(inc.own, diag.ObjectRef{Kind: kind, Namespace: ns, Name: name}.String())
	}
	var add []diag.Diagnostic
	for _, d := range s.Diags {
		if about(&d) {
			k := d.Object.String()
			inc.own[k] = append(inc.own[k], d)
			add = append(add, d)
		}
	}
	sorted, ok := diagmerge.Splice(inc.sorted, inc.source, sn.Diagnostics, about, add)
	if !ok {
		var own []diag.Diagnostic
		for _, ds := range inc.own {
			own = append(own, ds...)
		}
		sorted = diagmerge.Merge(sn.Diagnostics, own)
	}
	if len(vhs) == 0 {
		vhs = nil
	}
	if pools == nil {
		pools = prev.Pools
	}
	cfg := *prev
	cfg.VirtualHosts, cfg.Pools = vhs, pools
	if inc.gw.routeHosts == nil {
		inc.gw.routeHosts = map[string][]string{}
	}
	if inc.gw.routePools == nil {
		inc.gw.routePools = map[string][]string{}
	}
	for rk := range changed {
		inc.countRoute(rk, -1)
		delete(inc.gw.routeHosts, rk)
		delete(inc.gw.routePools, rk)
		if hs := hostsOf[rk]; len(hs) > 0 {
			inc.gw.routeHosts[rk] = hs
		}
		if ps := s.gwUses.routePools[rk]; len(ps) > 0 {
			inc.gw.routePools[rk] = ps
		}
		inc.countRoute(rk, 1)
	}
	// What UpdateIngresses avoids only grows: a name no route uses any
	// more makes an Ingress change translate in full, as it did.
	for h := range newHosts {
		inc.gw.use(&inc.gw.hosts, h)
	}
	for k := range s.gwUses.services {
		inc.gw.use(&inc.gw.services, k)
	}
	inc.sorted, inc.source = sorted, sn.Diagnostics
	return &cfg, sorted, true
}

// countRoutes builds hostN and poolN, the routes naming each host key
// and pool key, once per full translate.
func (inc *Incremental) countRoutes() {
	if inc.hostN != nil {
		return
	}
	inc.hostN, inc.poolN = map[string]int{}, map[string]int{}
	for rk := range inc.gw.routeHosts {
		inc.countRoute(rk, 1)
	}
	for rk := range inc.gw.routePools {
		if _, ok := inc.gw.routeHosts[rk]; !ok {
			inc.countRoute(rk, 1)
		}
	}
}

// countRoute adds d to the counts of route rk's hosts and pools.
func (inc *Incremental) countRoute(rk string, d int) {
	bump := func(m map[string]int, k string) {
		if m[k] += d; m[k] == 0 {
			delete(m, k)
		}
	}
	for _, h := range inc.gw.routeHosts[rk] {
		bump(inc.hostN, h)
	}
	for _, p := range inc.gw.routePools[rk] {
		bump(inc.poolN, p)
	}
}

// translateRoutes runs the Gateway API step over sn's Gateway API
// objects with routes as the only routes, as the last full translate
// would (its controller settings and clock), and returns the translator
// and the host keys each route attached on.
func (inc *Incremental) translateRoutes(sn *store.Snapshot, opts Options, routes []*gatewayv1.HTTPRoute) (*translator, map[string][]string) {
	only := *sn
	only.GatewayAPI = make(map[store.Key]runtime.Object, 8+len(routes))
	for k, o := range sn.GatewayAPI {
		switch k.Kind {
		case store.KindHTTPRoute, store.KindGRPCRoute, store.KindTLSRoute:
		default:
			only.GatewayAPI[k] = o
		}
	}
	for _, r := range routes {
		only.GatewayAPI[store.Key{Kind: store.KindHTTPRoute, Namespace: r.Namespace, Name: r.Name}] = r
	}
	s := newTranslator(&only, opts)
	s.Ctrl, s.Opts.Now = inc.ctrl, inc.now
	s.gatewayAPI()
	return s, s.gwUses.routeHosts
}
