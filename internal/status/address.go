package status

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Addresses says what moat publishes in status.loadBalancer.ingress.
type Addresses interface {
	// Addresses returns the entries to publish, sorted, and whether they
	// are known yet; while unknown the writer leaves status alone rather
	// than clearing it.
	Addresses() ([]networkingv1.IngressLoadBalancerIngress, bool)
}

// Static is --publish-status-address: fixed addresses.
type Static []networkingv1.IngressLoadBalancerIngress

// Addresses implements Addresses.
func (s Static) Addresses() ([]networkingv1.IngressLoadBalancerIngress, bool) { return s, true }

// ParseStatic parses a comma-separated list of IPs and hostnames, as
// ingress-nginx's --publish-status-address does.
func ParseStatic(list string) (Static, error) {
	var out Static
	for a := range strings.SplitSeq(list, ",") {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
			continue
		case net.ParseIP(a) != nil:
			out = append(out, networkingv1.IngressLoadBalancerIngress{IP: a})
		case validHostname(a):
			out = append(out, networkingv1.IngressLoadBalancerIngress{Hostname: a})
		default:
			return nil, fmt.Errorf("--publish-status-address: %q is neither an IP address nor a DNS name", a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--publish-status-address: no address in %q", list)
	}
	return Static(normalize(out)), nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for l := range strings.SplitSeq(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// normalize sorts and deduplicates entries so that comparisons are
// order-insensitive.
func normalize(in []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	out := make([]networkingv1.IngressLoadBalancerIngress, 0, len(in))
	for _, e := range in {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: e.IP, Hostname: e.Hostname})
	}
	slices.SortFunc(out, func(a, b networkingv1.IngressLoadBalancerIngress) int {
		if c := strings.Compare(a.IP, b.IP); c != 0 {
			return c
		}
		return strings.Compare(a.Hostname, b.Hostname)
	})
	return slices.CompactFunc(out, sameEntry)
}

func sameEntry(a, b networkingv1.IngressLoadBalancerIngress) bool {
	return a.IP == b.IP && a.Hostname == b.Hostname
}

// ServiceAddresses is --publish-service: the addresses of one Service,
// watched, as ingress-nginx derives them: the load balancer's entries
// and external IPs; an ExternalName; or the cluster IP.
type ServiceAddresses struct {
	namespace, name string
	inf             cache.SharedIndexInformer
	log             *slog.Logger

	mu       sync.Mutex
	onChange func()
}

// NewServiceAddresses watches namespace/name.
func NewServiceAddresses(c kubernetes.Interface, namespace, name string, log *slog.Logger) *ServiceAddresses {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return c.CoreV1().Services(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return c.CoreV1().Services(namespace).Watch(ctx, o)
		},
	}
	s := &ServiceAddresses{namespace: namespace, name: name, log: log,
		inf: cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, c), &corev1.Service{}, cache.SharedIndexInformerOptions{ObjectDescription: "publish Service"})}
	changed := func() {
		s.mu.Lock()
		f := s.onChange
		s.mu.Unlock()
		if f != nil {
			f()
		}
	}
	_, _ = s.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	})
	_ = s.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		s.log.Warn("watch failed; retrying", "kind", "Service", "namespace", namespace, "name", name, "err", err)
	})
	return s
}

// OnChange sets the function called after every change of the Service.
func (s *ServiceAddresses) OnChange(f func()) {
	s.mu.Lock()
	s.onChange = f
	s.mu.Unlock()
}

// Run watches until ctx is done.
func (s *ServiceAddresses) Run(ctx context.Context) error {
	s.inf.RunWithContext(ctx)
	return nil
}

// Addresses implements Addresses. A missing Service is "unknown": status
// is left as it is rather than cleared while it is being (re)created.
// The store alone decides, not HasSynced: the informer's Add handler (the
// writer's Kick) can run before HasSynced turns true, and a pass that then
// saw "unknown" would leave status unwritten until the next change.
func (s *ServiceAddresses) Addresses() ([]networkingv1.IngressLoadBalancerIngress, bool) {
	obj, ok, err := s.inf.GetStore().GetByKey(s.namespace + "/" + s.name)
	if err != nil || !ok {
		return nil, false
	}
	return serviceAddresses(obj.(*corev1.Service)), true
}

func serviceAddresses(svc *corev1.Service) []networkingv1.IngressLoadBalancerIngress {
	var out []networkingv1.IngressLoadBalancerIngress
	switch svc.Spec.Type {
	case corev1.ServiceTypeExternalName:
		return []networkingv1.IngressLoadBalancerIngress{{Hostname: svc.Spec.ExternalName}}
	case corev1.ServiceTypeLoadBalancer:
		for _, e := range svc.Status.LoadBalancer.Ingress {
			out = append(out, networkingv1.IngressLoadBalancerIngress{IP: e.IP, Hostname: e.Hostname})
		}
	}
	for _, ip := range svc.Spec.ExternalIPs {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	if len(out) == 0 && svc.Spec.Type != corev1.ServiceTypeLoadBalancer &&
		svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: svc.Spec.ClusterIP})
	}
	return normalize(out)
}
