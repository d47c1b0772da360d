package kube

import (
	"context"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/store"
)

// ConfigMaps named by annotations (custom-headers, auth-proxy-set-headers,
// fastcgi-params-configmap) are watched one by one: each referenced name
// gets its own list+watch with fieldSelector metadata.name, started when
// the first Ingress names it and stopped when the last one stops.
//
// Why not one ConfigMap informer per namespace, filtered client-side (what
// ingress-nginx does)? Its list pulls every ConfigMap of the cluster
// (Grafana dashboards, CA bundles in every namespace, Helm v2 releases)
// through the decoder and keeps their updates streaming, to use a handful.
// Per-name watches read only what is used; their cost is one watch stream
// per distinct referenced ConfigMap, multiplexed on the client's HTTP/2
// connection. RBAC cannot name ConfigMaps users choose later, so list and
// watch are granted on the resource; moat uses them for these names only.
// References count from every watched Ingress, whatever its class: which
// Ingresses moat serves is translate's decision, taken later.

// The controller ConfigMap names ConfigMaps too (proxy-set-headers,
// add-headers: "namespace/name", any namespace, as ingress-nginx); they
// are watched the same way, owned by the controller ConfigMap, so a
// change of either key starts and stops the right watches.

// controllerConfigMapKeys are the controller ConfigMap keys whose value
// names a ConfigMap.
var controllerConfigMapKeys = []string{"proxy-set-headers", "add-headers"}

// controllerOwner is the owner key of the references of the controller
// ConfigMap nn in refWatcher (Ingress owners are "namespace/name").
func controllerOwner(nn string) string { return "configmap:" + nn }

// ControllerConfigMapRefs returns the "namespace/name" keys of the
// ConfigMaps that a controller ConfigMap's data names; values that cannot
// be ConfigMap names are left to translate, which reports them.
func ControllerConfigMapRefs(data map[string]string) []string {
	var out []string
	for _, k := range controllerConfigMapKeys {
		ns, name, ok := strings.Cut(strings.TrimSpace(data[k]), "/")
		if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			continue
		}
		if key := ns + "/" + name; !contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// configMapAnnotations are the annotations whose value names a ConfigMap
// ("name" or "namespace/name" in the Ingress's own namespace).
var configMapAnnotations = []string{"custom-headers", "auth-proxy-set-headers", "fastcgi-params-configmap"}

// defaultRefSyncTimeout bounds how long an Ingress that names a new
// ConfigMap waits for that ConfigMap's first list before it enters the
// store anyway.
const defaultRefSyncTimeout = 5 * time.Second

// ConfigMapRefs returns the "namespace/name" keys of the ConfigMaps that
// ing's annotations name, in the Ingress's namespace only: translate
// refuses other namespaces (AnnotationCrossNamespace), so moat never reads
// them. Values that cannot be ConfigMap names are left to translate too.
func ConfigMapRefs(ing *networkingv1.Ingress, prefix string) []string {
	if len(ing.Annotations) == 0 {
		return nil
	}
	if prefix == "" {
		prefix = annotations.DefaultPrefix
	}
	var out []string
	for _, a := range configMapAnnotations {
		v := strings.TrimSpace(ing.Annotations[prefix+"/"+a])
		if v == "" {
			continue
		}
		ns, name, ok := strings.Cut(v, "/")
		if !ok {
			ns, name = ing.Namespace, v
		}
		if ns != ing.Namespace || len(validation.IsDNS1123Subdomain(name)) > 0 {
			continue
		}
		key := ns + "/" + name
		if !contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// refWatcher keeps one informer per referenced ConfigMap.
type refWatcher struct {
	s *Source
	// static are the ConfigMaps watched for the whole run (the controller
	// ConfigMap); a reference to one of them starts nothing.
	static map[string]bool

	mu        sync.Mutex
	ctx       context.Context
	byIngress map[string][]string
	watches   map[string]*cmWatch
}

// cmWatch is one referenced ConfigMap's informer.
type cmWatch struct {
	key    string
	refs   int
	cancel context.CancelFunc
	synced cache.InformerSynced
	// listed is closed after the first list attempt failed, so that a
	// forbidden or failing list does not hold Ingresses for the timeout.
	listed   chan struct{}
	listOnce sync.Once

	// mu orders the informer's store writes against stop: after stop no
	// late event can put the ConfigMap back.
	mu      sync.Mutex
	stopped bool
}

func newRefWatcher(s *Source, static []string) *refWatcher {
	w := &refWatcher{s: s, static: map[string]bool{}, byIngress: map[string][]string{}, watches: map[string]*cmWatch{}}
	for _, k := range static {
		w.static[k] = true
	}
	return w
}

func (w *refWatcher) start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
}

// ingress records the references of an added or updated Ingress, starts
// the informers of newly referenced ConfigMaps and waits (bounded) for
// their first list, so that the Ingress reaches the store after the
// ConfigMaps it needs: no pass translates it against a ConfigMap not yet
// read (which would serve it without its headers and report the
// ConfigMap missing). It returns the keys no Ingress references any more;
// the caller releases them after storing the Ingress.
func (w *refWatcher) ingress(ing *networkingv1.Ingress) []string {
	return w.set(ing.Namespace+"/"+ing.Name, ConfigMapRefs(ing, w.s.opts.AnnotationPrefix))
}

// set records owner's references (an Ingress's "namespace/name", or
// controllerOwner for a controller ConfigMap), as ingress does.
func (w *refWatcher) set(nn string, refs []string) []string {
	w.mu.Lock()
	old := w.byIngress[nn]
	if len(refs) == 0 {
		delete(w.byIngress, nn)
	} else {
		w.byIngress[nn] = refs
	}
	var fresh []*cmWatch
	for _, k := range refs {
		if contains(old, k) || w.static[k] {
			continue
		}
		cw, ok := w.watches[k]
		if !ok {
			cw = w.startLocked(k)
			if cw == nil {
				continue
			}
			fresh = append(fresh, cw)
		}
		cw.refs++
	}
	gone := w.releaseLocked(old, refs)
	ctx := w.ctx
	w.mu.Unlock()
	for _, cw := range fresh {
		w.waitListed(ctx, cw)
	}
	return gone
}

// deleted drops a deleted Ingress's references; it returns the keys to
// release.
func (w *refWatcher) deleted(nn string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.byIngress[nn]
	delete(w.byIngress, nn)
	return w.releaseLocked(old, nil)
}

// releaseLocked decrements the keys of old not in keep and returns those
// that reached zero.
func (w *refWatcher) releaseLocked(old, keep []string) []string {
	var gone []string
	for _, k := range old {
		if contains(keep, k) || w.static[k] {
			continue
		}
		cw, ok := w.watches[k]
		if !ok {
			continue
		}
		if cw.refs--; cw.refs <= 0 {
			gone = append(gone, k)
		}
	}
	return gone
}

// release stops the informers of keys still unreferenced and takes their
// ConfigMaps out of the store.
func (w *refWatcher) release(keys []string) {
	for _, k := range keys {
		w.mu.Lock()
		cw, ok := w.watches[k]
		if !ok || cw.refs > 0 {
			w.mu.Unlock()
			continue
		}
		delete(w.watches, k)
		w.mu.Unlock()
		cw.stop(w.s.opts.Store)
		w.s.log.Debug("stopped watching configmap: no Ingress names it", "configmap", k)
	}
}

func (cw *cmWatch) stop(st *store.Store) {
	cw.cancel()
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.stopped = true
	ns, name, _ := strings.Cut(cw.key, "/")
	st.Delete(store.Key{Kind: store.KindConfigMap, Namespace: ns, Name: name})
}

// startLocked starts the informer of one ConfigMap; nil before Run.
func (w *refWatcher) startLocked(key string) *cmWatch {
	if w.ctx == nil {
		return nil
	}
	ns, name, _ := strings.Cut(key, "/")
	ctx, cancel := context.WithCancel(w.ctx)
	cw := &cmWatch{key: key, cancel: cancel, listed: make(chan struct{})}
	c := w.s.opts.Client
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := w.s.listWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ConfigMaps(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
		}, sel)
	inf := cache.NewSharedIndexInformerWithOptions(lw, &corev1.ConfigMap{}, cache.SharedIndexInformerOptions{ObjectDescription: "ConfigMap " + key})
	_ = inf.SetTransform(Strip)
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.s.log.Warn("watch failed; retrying", "kind", "ConfigMap", "configmap", key, "err", err)
		cw.listOnce.Do(func() { close(cw.listed) })
	})
	st := w.s.opts.Store
	put := func(obj any) {
		cw.mu.Lock()
		defer cw.mu.Unlock()
		if cw.stopped {
			return
		}
		if ro, ok := obj.(runtime.Object); ok {
			st.Upsert(store.Object{Obj: ro})
		}
	}
	reg, _ := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: put,
		UpdateFunc: func(old, obj any) {
			if o, n := accessor(old), accessor(obj); o != nil && n != nil && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			put(obj)
		},
		DeleteFunc: func(any) {
			cw.mu.Lock()
			defer cw.mu.Unlock()
			if !cw.stopped {
				st.Delete(store.Key{Kind: store.KindConfigMap, Namespace: ns, Name: name})
			}
		},
	})
	cw.synced = reg.HasSynced
	w.watches[key] = cw
	go inf.RunWithContext(ctx)
	w.s.log.Debug("watching configmap named by an annotation", "configmap", key)
	return cw
}

// waitListed waits until the ConfigMap's informer has delivered its first
// list, its list failed, the timeout passed or ctx ended.
func (w *refWatcher) waitListed(ctx context.Context, cw *cmWatch) {
	timeout := w.s.opts.RefSyncTimeout
	if timeout <= 0 {
		timeout = defaultRefSyncTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cw.synced() {
		select {
		case <-ctx.Done():
			return
		case <-cw.listed:
			return
		case <-deadline.C:
			w.s.log.Warn("configmap named by an annotation not listed in time; the Ingress is served without it until it is", "configmap", cw.key, "timeout_ms", float64(timeout.Microseconds())/1000)
			return
		case <-tick.C:
		}
	}
}

// watching returns the keys of the referenced ConfigMaps watched now
// (tests).
func (w *refWatcher) watching() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.watches))
	for k := range w.watches {
		out = append(out, k)
	}
	return out
}
