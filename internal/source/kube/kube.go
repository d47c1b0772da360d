// Package kube is the cluster-mode source: informers on the API server for
// Ingress, IngressClass, Service, EndpointSlice, Secret, the controller
// ConfigMap and the ConfigMaps that Ingress annotations name
// (configmaps.go), and the Gateway API kinds when installed (gateway.go). Their callbacks
// only copy the (stripped) object into the store, which signals the
// reconcile loop; nothing here translates or serves.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/store"
)

// secretFieldSelector leaves out the Secret types that are numerous or
// large and never hold an Ingress certificate: Helm release records and
// service-account tokens.
const secretFieldSelector = "type!=helm.sh/release.v1,type!=" + string(corev1.SecretTypeServiceAccountToken)

// Options configures a Source.
type Options struct {
	Client kubernetes.Interface
	Store  *store.Store
	Log    *slog.Logger
	// Namespaces limits the namespaced kinds to these namespaces; empty
	// means all. IngressClasses are cluster-scoped and always watched.
	Namespaces []string
	// SecretNamespaces are extra namespaces whose Secrets are watched
	// (the --default-ssl-certificate's), when Namespaces is not empty.
	SecretNamespaces []string
	// ServiceNamespaces are extra namespaces whose Services and
	// EndpointSlices are watched (the --default-backend-service's), when
	// Namespaces is not empty.
	ServiceNamespaces []string
	// ConfigMaps are "namespace/name" of single ConfigMaps to watch (the
	// controller ConfigMap). Besides these, only the ConfigMaps that
	// watched Ingresses name in annotations are read (configmaps.go).
	ConfigMaps []string
	// AnnotationPrefix is the prefix of the annotations that name
	// ConfigMaps; empty means nginx.ingress.kubernetes.io.
	AnnotationPrefix string
	// Gateway, when set, is the Gateway API client: GatewayClass,
	// Gateway, HTTPRoute and ReferenceGrant are watched when their CRDs
	// are installed (gateway.go).
	Gateway gatewayclient.Interface
	// RefSyncTimeout bounds how long an Ingress naming a ConfigMap not yet
	// watched waits for its first list; zero means 5 s.
	RefSyncTimeout time.Duration
}

// Source runs the informers.
type Source struct {
	opts      Options
	log       *slog.Logger
	informers []cache.SharedIndexInformer
	synced    []cache.InformerSynced
	refs      *refWatcher
}

// New builds the informers; Run starts them.
func New(opts Options) (*Source, error) {
	if opts.Client == nil || opts.Store == nil {
		return nil, errors.New("kube source: Client and Store are required")
	}
	s := &Source{opts: opts, log: opts.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	c := opts.Client
	s.refs = newRefWatcher(s, opts.ConfigMaps)
	nss := namespaces(opts.Namespaces)
	secretNSs := nss
	if len(opts.Namespaces) > 0 {
		secretNSs = namespaces(append(slices.Clone(opts.Namespaces), opts.SecretNamespaces...))
	}

	s.add("IngressClass", &networkingv1.IngressClass{}, s.listWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.NetworkingV1().IngressClasses().List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.NetworkingV1().IngressClasses().Watch(ctx, o)
		}, ""))
	for _, ns := range nss {
		s.addIngress(s.listWatch(
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.NetworkingV1().Ingresses(ns).List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.NetworkingV1().Ingresses(ns).Watch(ctx, o)
			}, ""))
		s.addServices(c, ns)
	}
	if len(opts.Namespaces) > 0 && len(opts.ServiceNamespaces) > 0 {
		for _, ns := range namespaces(opts.ServiceNamespaces) {
			if slices.Contains(nss, ns) {
				continue
			}
			s.addServices(c, ns)
		}
	}
	for _, ns := range secretNSs {
		s.add("Secret", &corev1.Secret{}, s.listWatch(
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().Secrets(ns).List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().Secrets(ns).Watch(ctx, o)
			}, secretFieldSelector))
	}
	if opts.Gateway != nil {
		s.addGatewayAPI(opts.Gateway, nss)
	}
	for _, nn := range opts.ConfigMaps {
		ns, name, ok := strings.Cut(nn, "/")
		if !ok {
			return nil, fmt.Errorf("kube source: configmap %q: want namespace/name", nn)
		}
		s.addControllerConfigMap(nn, s.listWatch(
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.CoreV1().ConfigMaps(ns).List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
			}, fields.OneTermEqualSelector("metadata.name", name).String()))
	}
	return s, nil
}

// namespaces returns the namespaces to watch, deduplicated; [""] (all)
// when none are given.
func namespaces(in []string) []string {
	if len(in) == 0 {
		return []string{metav1.NamespaceAll}
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Source) listWatch(list cache.ListWithContextFunc, w cache.WatchFuncWithContext, fieldSelector string) cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fieldSelector
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fieldSelector
			return w(ctx, o)
		},
	}
	// Lets the reflector know when the client (a fake in unit tests)
	// cannot stream the initial list.
	return cache.ToListWatcherWithWatchListSemantics(lw, s.opts.Client)
}

// add creates one informer that strips objects before caching them and
// mirrors them into the store.
func (s *Source) add(kind string, example runtime.Object, lw cache.ListerWatcher) {
	s.addWith(kind, example, lw, s.upsert, func(k store.Key) { s.opts.Store.Delete(k) })
}

// addIngress is add for Ingresses: the ConfigMaps an Ingress names are
// watched before it is stored, and released after it changed or left.
func (s *Source) addIngress(lw cache.ListerWatcher) {
	s.addWith("Ingress", &networkingv1.Ingress{}, lw,
		func(obj any) {
			var gone []string
			if ing, ok := obj.(*networkingv1.Ingress); ok {
				gone = s.refs.ingress(ing)
			}
			s.upsert(obj)
			s.refs.release(gone)
		},
		func(k store.Key) {
			s.opts.Store.Delete(k)
			s.refs.release(s.refs.deleted(k.Namespace + "/" + k.Name))
		})
}

// addControllerConfigMap is add for a controller ConfigMap: the
// ConfigMaps its proxy-set-headers and add-headers name are watched
// before it is stored, and released when it stops naming them.
func (s *Source) addControllerConfigMap(nn string, lw cache.ListerWatcher) {
	owner := controllerOwner(nn)
	s.addWith("ConfigMap", &corev1.ConfigMap{}, lw,
		func(obj any) {
			var gone []string
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				gone = s.refs.set(owner, ControllerConfigMapRefs(cm.Data))
			}
			s.upsert(obj)
			s.refs.release(gone)
		},
		func(k store.Key) {
			s.opts.Store.Delete(k)
			s.refs.release(s.refs.deleted(owner))
		})
}

func (s *Source) addWith(kind string, example runtime.Object, lw cache.ListerWatcher, upsert func(any), del func(store.Key)) {
	inf := cache.NewSharedIndexInformerWithOptions(lw, example, cache.SharedIndexInformerOptions{ObjectDescription: kind})
	// SetTransform and the handler only fail after Run; both are set first.
	_ = inf.SetTransform(Strip)
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		// The reflector retries with backoff; the data plane keeps serving
		// the last configuration meanwhile.
		s.log.Warn("watch failed; retrying", "kind", kind, "err", err)
	})
	reg, _ := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: upsert,
		UpdateFunc: func(old, obj any) {
			// A relist after a reconnect replays unchanged objects.
			if o, n := accessor(old), accessor(obj); o != nil && n != nil && o.GetResourceVersion() == n.GetResourceVersion() {
				return
			}
			upsert(obj)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if ro, ok := obj.(runtime.Object); ok {
				if k, ok := store.KeyOf(ro); ok {
					del(k)
				}
			}
		},
	})
	s.informers = append(s.informers, inf)
	// The registration's HasSynced also waits for the handler to have seen
	// the initial list, so the store is complete once it reports true.
	s.synced = append(s.synced, reg.HasSynced)
}

func accessor(obj any) metav1.Object {
	if m, ok := obj.(metav1.Object); ok {
		return m
	}
	return nil
}

func (s *Source) upsert(obj any) {
	if ro, ok := obj.(runtime.Object); ok {
		s.opts.Store.Upsert(store.Object{Obj: ro})
	}
}

// Run runs the informers until ctx is done.
func (s *Source) Run(ctx context.Context) error {
	s.refs.start(ctx)
	for _, inf := range s.informers {
		go inf.RunWithContext(ctx)
	}
	<-ctx.Done()
	return nil
}

// HasSynced reports whether every informer has delivered its initial list
// to the store.
func (s *Source) HasSynced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until HasSynced or ctx is done; it logs while
// waiting so that an unreachable API server is visible.
func (s *Source) WaitForSync(ctx context.Context) error {
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	next := 10 * time.Second
	for !s.HasSynced() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("informer caches not synced: %w", ctx.Err())
		case <-tick.C:
		}
		if w := time.Since(start); w > next {
			s.log.Warn("waiting for the informer caches to sync", "waited_ms", float64(w.Microseconds())/1000)
			next *= 2
		}
	}
	s.log.Info("informer caches synced", "informers", len(s.informers), "duration_ms", float64(time.Since(start).Microseconds())/1000)
	return nil
}

// addServices watches the Services and EndpointSlices of ns: the
// backends of routes and of the default backend.
func (s *Source) addServices(c kubernetes.Interface, ns string) {
	s.add("Service", &corev1.Service{}, s.listWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Services(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Services(ns).Watch(ctx, o)
		}, ""))
	s.add("EndpointSlice", &discoveryv1.EndpointSlice{}, s.listWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.DiscoveryV1().EndpointSlices(ns).Watch(ctx, o)
		}, ""))
}
