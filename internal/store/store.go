// Package store is the versioned object store between sources and translate.
// Sources write into it; the reconcile loop takes immutable snapshots.
//
// Objects handed to the store must not be mutated afterwards: snapshots
// share them.
package store

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

// Kinds the store keeps.
const (
	KindIngress       = "Ingress"
	KindIngressClass  = "IngressClass"
	KindService       = "Service"
	KindEndpointSlice = "EndpointSlice"
	KindSecret        = "Secret"
	KindConfigMap     = "ConfigMap"
	// KindNamespace is read for its labels only (a Gateway listener's
	// allowedRoutes.namespaces.selector).
	KindNamespace = "Namespace"

	// Gateway API kinds (gateway.networking.k8s.io/v1).
	KindGatewayClass   = "GatewayClass"
	KindGateway        = "Gateway"
	KindHTTPRoute      = "HTTPRoute"
	KindGRPCRoute      = "GRPCRoute"
	KindTLSRoute       = "TLSRoute"
	KindReferenceGrant = "ReferenceGrant"
	// KindBackendTLSPolicy is gateway.networking.k8s.io/v1 too.
	KindBackendTLSPolicy = "BackendTLSPolicy"
)

// Key identifies one object.
type Key struct {
	Kind      string
	Namespace string
	Name      string
}

// Object is one stored object and where it came from.
type Object struct {
	// Obj is one of *networkingv1.Ingress, *networkingv1.IngressClass,
	// *corev1.Service, *discoveryv1.EndpointSlice, *corev1.Secret,
	// *corev1.ConfigMap, *corev1.Namespace, or a
	// gateway.networking.k8s.io/v1 object.
	Obj    runtime.Object
	Origin diag.Origin
}

// KeyOf returns the key of a supported object, and false for other types.
func KeyOf(obj runtime.Object) (Key, bool) {
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		return Key{KindIngress, o.Namespace, o.Name}, true
	case *networkingv1.IngressClass:
		return Key{KindIngressClass, "", o.Name}, true
	case *corev1.Service:
		return Key{KindService, o.Namespace, o.Name}, true
	case *discoveryv1.EndpointSlice:
		return Key{KindEndpointSlice, o.Namespace, o.Name}, true
	case *corev1.Secret:
		return Key{KindSecret, o.Namespace, o.Name}, true
	case *corev1.ConfigMap:
		return Key{KindConfigMap, o.Namespace, o.Name}, true
	case *corev1.Namespace:
		return Key{KindNamespace, "", o.Name}, true
	case *gatewayv1.GatewayClass:
		return Key{KindGatewayClass, "", o.Name}, true
	case *gatewayv1.Gateway:
		return Key{KindGateway, o.Namespace, o.Name}, true
	case *gatewayv1.HTTPRoute:
		return Key{KindHTTPRoute, o.Namespace, o.Name}, true
	case *gatewayv1.GRPCRoute:
		return Key{KindGRPCRoute, o.Namespace, o.Name}, true
	case *gatewayv1.TLSRoute:
		return Key{KindTLSRoute, o.Namespace, o.Name}, true
	case *gatewayv1.ReferenceGrant:
		return Key{KindReferenceGrant, o.Namespace, o.Name}, true
	case *gatewayv1.BackendTLSPolicy:
		return Key{KindBackendTLSPolicy, o.Namespace, o.Name}, true
	}
	return Key{}, false
}

// Store is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	version uint64
	objs    map[Key]Object
	diags   []diag.Diagnostic
	changed chan struct{}

	// What changed since the last SnapshotChanges, so that the reconcile
	// loop can tell an endpoint-only change from one that needs translate:
	// each key with its value before the first of those changes.
	dirty      map[Key]Object
	dirtyAll   bool
	dirtyDiags bool

	// snap is the last snapshot built and pending the keys changed since,
	// with their value in snap: the next snapshot patches snap instead of
	// rebuilding 30,000 objects' worth of maps for one change.
	snap     *Snapshot
	pending  map[Key]Object
	maxDelta int
}

// New returns an empty store.
func New() *Store {
	return &Store{objs: map[Key]Object{}, changed: make(chan struct{}, 1), dirty: map[Key]Object{}, dirtyAll: true,
		pending: map[Key]Object{}, maxDelta: defaultMaxDelta}
}

// Version is the number of changes so far.
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Changed is signalled (coalesced) after every change.
func (s *Store) Changed() <-chan struct{} { return s.changed }

func (s *Store) bump() {
	s.version++
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// set records k's current value as its "before" and then sets it (present
// false deletes).
func (s *Store) set(k Key, o Object, present bool) {
	before := s.objs[k]
	if _, ok := s.dirty[k]; !ok {
		s.dirty[k] = before
	}
	if _, ok := s.pending[k]; !ok {
		s.pending[k] = before
	}
	if present {
		s.objs[k] = o
	} else {
		delete(s.objs, k)
	}
}

// Replace swaps the whole content, as the file source does on its first
// read. diags are the source's own findings (parse errors, unknown kinds).
func (s *Store) Replace(objs []Object, diags []diag.Diagnostic) {
	m := make(map[Key]Object, len(objs))
	for _, o := range objs {
		if k, ok := KeyOf(o.Obj); ok {
			m[k] = o
		}
	}
	s.mu.Lock()
	s.objs = m
	s.diags = append([]diag.Diagnostic(nil), diags...)
	s.dirtyAll = true
	s.snap, s.pending = nil, map[Key]Object{}
	s.bump()
	s.mu.Unlock()
}

// Batch is a set of changes applied together, with one version bump: the
// file source hands over only what a reload changed.
type Batch struct {
	Upserts []Object
	Deletes []Key
	// Diagnostics replace the sources' findings when SetDiagnostics is
	// true.
	Diagnostics    []diag.Diagnostic
	SetDiagnostics bool
}

// Apply applies b; an empty batch changes nothing and bumps nothing.
func (s *Store) Apply(b Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, k := range b.Deletes {
		if _, ok := s.objs[k]; ok {
			s.set(k, Object{}, false)
			changed = true
		}
	}
	for _, o := range b.Upserts {
		if k, ok := KeyOf(o.Obj); ok {
			s.set(k, o, true)
			changed = true
		}
	}
	if b.SetDiagnostics {
		s.diags = append([]diag.Diagnostic(nil), b.Diagnostics...)
		s.dirtyDiags = true
		changed = true
	}
	if changed {
		s.bump()
	}
}

// Upsert adds or replaces one object.
func (s *Store) Upsert(o Object) {
	k, ok := KeyOf(o.Obj)
	if !ok {
		return
	}
	s.mu.Lock()
	s.set(k, o, true)
	s.bump()
	s.mu.Unlock()
}

// Delete removes one object if present.
func (s *Store) Delete(k Key) {
	s.mu.Lock()
	if _, ok := s.objs[k]; ok {
		s.set(k, Object{}, false)
		s.bump()
	}
	s.mu.Unlock()
}

// Snapshot is an immutable read view of the store at one version.
type Snapshot struct {
	Version uint64
	// Ingresses sorted by namespace/name.
	Ingresses      []*networkingv1.Ingress
	IngressClasses map[string]*networkingv1.IngressClass
	// Services, Secrets and ConfigMaps keyed by "namespace/name".
	Services   map[string]*corev1.Service
	Secrets    map[string]*corev1.Secret
	ConfigMaps map[string]*corev1.ConfigMap
	// Namespaces keyed by name; only their labels are read.
	Namespaces map[string]*corev1.Namespace
	// EndpointSlices keyed by "namespace/service" (the slice's
	// kubernetes.io/service-name label), each list sorted by name.
	EndpointSlices map[string][]*discoveryv1.EndpointSlice
	// Diagnostics are the sources' own findings.
	Diagnostics []diag.Diagnostic
	// GatewayAPI holds the Gateway API objects (GatewayClass, Gateway,
	// the routes, ReferenceGrant) by key; few compared with Ingresses,
	// so one map serves them all and translate sorts what it needs.
	GatewayAPI map[Key]runtime.Object

	// objs are all the objects, for Origin and Get: a base shared with
	// earlier snapshots, and the keys changed since it was built (Obj
	// nil: deleted), so that one change does not copy 30,000 entries.
	objs, delta map[Key]Object
}

// defaultMaxDelta bounds the changed keys a snapshot looks up before its
// base; past it the next snapshot folds them into a new base.
const defaultMaxDelta = 1024

// Origin returns where the object came from, if known.
func (sn *Snapshot) Origin(kind, namespace, name string) diag.Origin {
	o, _ := sn.Get(Key{kind, namespace, name})
	return o.Origin
}

// Ref returns a diagnostic reference to an object of the snapshot.
func (sn *Snapshot) Ref(kind, namespace, name string) diag.ObjectRef {
	return diag.ObjectRef{Kind: kind, Namespace: namespace, Name: name, Origin: sn.Origin(kind, namespace, name)}
}

// Snapshot returns the current content.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Store) snapshot() *Snapshot {
	switch {
	case s.snap == nil || len(s.pending) > len(s.objs)/8:
		s.snap = Build(s.version, s.objs, s.diags)
	case len(s.pending) > 0 || s.snap.Version != s.version:
		s.snap = s.snap.patch(s.version, s.objs, s.pending, s.diags, s.maxDelta)
	}
	clear(s.pending)
	return s.snap
}

// Changes says what differs between two snapshots taken with
// SnapshotChanges.
type Changes struct {
	// All is set on the first call and after Replace: anything may have
	// changed.
	All bool
	// Keys were upserted or deleted (possibly back to what they were),
	// each with its value in the previous snapshot (Obj nil if absent).
	Keys map[Key]Object
	// Diagnostics is set when the sources' findings were replaced.
	Diagnostics bool
}

// OnlyKind reports whether every change is to objects of kind (and there
// is at least one).
func (c Changes) OnlyKind(kind string) bool {
	if c.All || c.Diagnostics || len(c.Keys) == 0 {
		return false
	}
	for k := range c.Keys {
		if k.Kind != kind {
			return false
		}
	}
	return true
}

// SnapshotChanges returns the current content and what changed since the
// previous call. It has one consumer, the reconcile loop; Snapshot does
// not reset the record.
func (s *Store) SnapshotChanges() (*Snapshot, Changes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Changes{All: s.dirtyAll, Keys: s.dirty, Diagnostics: s.dirtyDiags}
	s.dirty, s.dirtyAll, s.dirtyDiags = map[Key]Object{}, false, false
	return s.snapshot(), c
}

// Get returns the object stored under k.
func (sn *Snapshot) Get(k Key) (Object, bool) {
	if o, ok := sn.delta[k]; ok {
		return o, o.Obj != nil
	}
	o, ok := sn.objs[k]
	return o, ok
}

// patch returns a copy of sn with the keys of pending (valued as in sn)
// set to their value in objs. Only the maps a change touches are copied.
func (sn *Snapshot) patch(version uint64, objs, pending map[Key]Object, diags []diag.Diagnostic, maxDelta int) *Snapshot {
	n := *sn
	n.Version = version
	n.Diagnostics = append([]diag.Diagnostic(nil), diags...)
	if len(pending) > 0 {
		if len(sn.delta)+len(pending) > maxDelta {
			n.objs = maps.Clone(sn.objs)
			for k, o := range sn.delta {
				if o.Obj == nil {
					delete(n.objs, k)
				} else {
					n.objs[k] = o
				}
			}
			n.delta = make(map[Key]Object, len(pending))
		} else {
			n.delta = maps.Clone(sn.delta)
			if n.delta == nil {
				n.delta = make(map[Key]Object, len(pending))
			}
		}
	}
	cloned := map[string]bool{}
	once := func(kind string, clone func()) {
		if !cloned[kind] {
			cloned[kind] = true
			clone()
		}
	}
	ingresses := false
	for k, before := range pending {
		after, present := objs[k]
		n.delta[k] = after // Obj nil when deleted
		nn := k.Namespace + "/" + k.Name
		switch k.Kind {
		case KindIngress:
			ingresses = true
		case KindIngressClass:
			once(k.Kind, func() { n.IngressClasses = maps.Clone(n.IngressClasses) })
			patchMap(n.IngressClasses, k.Name, after.Obj, present)
		case KindService:
			once(k.Kind, func() { n.Services = maps.Clone(n.Services) })
			patchMap(n.Services, nn, after.Obj, present)
		case KindSecret:
			once(k.Kind, func() { n.Secrets = maps.Clone(n.Secrets) })
			patchMap(n.Secrets, nn, after.Obj, present)
		case KindConfigMap:
			once(k.Kind, func() { n.ConfigMaps = maps.Clone(n.ConfigMaps) })
			patchMap(n.ConfigMaps, nn, after.Obj, present)
		case KindNamespace:
			once(k.Kind, func() { n.Namespaces = maps.Clone(n.Namespaces) })
			patchMap(n.Namespaces, k.Name, after.Obj, present)
		case KindGatewayClass, KindGateway, KindHTTPRoute, KindGRPCRoute, KindTLSRoute, KindReferenceGrant, KindBackendTLSPolicy:
			once(KindGateway, func() { n.GatewayAPI = maps.Clone(n.GatewayAPI) })
			if present {
				n.GatewayAPI[k] = after.Obj
			} else {
				delete(n.GatewayAPI, k)
			}
		case KindEndpointSlice:
			once(k.Kind, func() { n.EndpointSlices = maps.Clone(n.EndpointSlices) })
			if old, ok := before.Obj.(*discoveryv1.EndpointSlice); ok {
				if svc := old.Labels[discoveryv1.LabelServiceName]; svc != "" {
					sk := old.Namespace + "/" + svc
					l := slices.DeleteFunc(slices.Clone(n.EndpointSlices[sk]), func(e *discoveryv1.EndpointSlice) bool { return e.Name == old.Name })
					if len(l) == 0 {
						delete(n.EndpointSlices, sk)
					} else {
						n.EndpointSlices[sk] = l
					}
				}
			}
			if v, ok := after.Obj.(*discoveryv1.EndpointSlice); ok && present {
				if svc := v.Labels[discoveryv1.LabelServiceName]; svc != "" {
					sk := v.Namespace + "/" + svc
					l := append(slices.Clone(n.EndpointSlices[sk]), v)
					sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
					n.EndpointSlices[sk] = l
				}
			}
		}
	}
	if ingresses {
		// Each changed Ingress replaces, leaves or joins the sorted list
		// at its place: no pass over 10,000 Ingresses per change.
		n.Ingresses = slices.Clone(n.Ingresses)
		for k := range pending {
			if k.Kind != KindIngress {
				continue
			}
			i, found := slices.BinarySearchFunc(n.Ingresses, k, func(ing *networkingv1.Ingress, k Key) int {
				if c := strings.Compare(ing.Namespace, k.Namespace); c != 0 {
					return c
				}
				return strings.Compare(ing.Name, k.Name)
			})
			o, present := objs[k]
			switch {
			case present && found:
				n.Ingresses[i] = o.Obj.(*networkingv1.Ingress)
			case present:
				n.Ingresses = slices.Insert(n.Ingresses, i, o.Obj.(*networkingv1.Ingress))
			case found:
				n.Ingresses = slices.Delete(n.Ingresses, i, i+1)
			}
		}
	}
	return &n
}

func patchMap[V any](m map[string]V, k string, obj runtime.Object, present bool) {
	if v, ok := obj.(V); ok && present {
		m[k] = v
	} else {
		delete(m, k)
	}
}

func sortIngresses(l []*networkingv1.Ingress) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// Build assembles a snapshot from objects; exported for tests and lint.
func Build(version uint64, objs map[Key]Object, diags []diag.Diagnostic) *Snapshot {
	sn := &Snapshot{
		Version:        version,
		IngressClasses: map[string]*networkingv1.IngressClass{},
		Services:       map[string]*corev1.Service{},
		Secrets:        map[string]*corev1.Secret{},
		ConfigMaps:     map[string]*corev1.ConfigMap{},
		Namespaces:     map[string]*corev1.Namespace{},
		EndpointSlices: map[string][]*discoveryv1.EndpointSlice{},
		GatewayAPI:     map[Key]runtime.Object{},
		Diagnostics:    append([]diag.Diagnostic(nil), diags...),
		objs:           maps.Clone(objs),
	}
	if sn.objs == nil {
		sn.objs = map[Key]Object{}
	}
	for k, o := range objs {
		nn := k.Namespace + "/" + k.Name
		switch v := o.Obj.(type) {
		case *networkingv1.Ingress:
			sn.Ingresses = append(sn.Ingresses, v)
		case *networkingv1.IngressClass:
			sn.IngressClasses[k.Name] = v
		case *corev1.Service:
			sn.Services[nn] = v
		case *corev1.Secret:
			sn.Secrets[nn] = v
		case *corev1.ConfigMap:
			sn.ConfigMaps[nn] = v
		case *corev1.Namespace:
			sn.Namespaces[k.Name] = v
		case *gatewayv1.GatewayClass, *gatewayv1.Gateway, *gatewayv1.HTTPRoute, *gatewayv1.GRPCRoute, *gatewayv1.TLSRoute, *gatewayv1.ReferenceGrant, *gatewayv1.BackendTLSPolicy:
			sn.GatewayAPI[k] = v
		case *discoveryv1.EndpointSlice:
			svc := v.Labels[discoveryv1.LabelServiceName]
			if svc == "" {
				continue
			}
			sk := v.Namespace + "/" + svc
			sn.EndpointSlices[sk] = append(sn.EndpointSlices[sk], v)
		}
	}
	sortIngresses(sn.Ingresses)
	for _, l := range sn.EndpointSlices {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return sn
}

// FromObjects builds a snapshot straight from a list, as lint and tests do.
func FromObjects(objs []Object, diags []diag.Diagnostic) *Snapshot {
	m := make(map[Key]Object, len(objs))
	for _, o := range objs {
		if k, ok := KeyOf(o.Obj); ok {
			m[k] = o
		}
	}
	return Build(0, m, diags)
}
