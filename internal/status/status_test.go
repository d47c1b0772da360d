package status

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

func ing(name, class string, lb ...string) *networkingv1.Ingress {
	i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "1"}}
	if class != "" {
		i.Spec.IngressClassName = &class
	}
	for _, a := range lb {
		i.Status.LoadBalancer.Ingress = append(i.Status.LoadBalancer.Ingress, networkingv1.IngressLoadBalancerIngress{IP: a})
	}
	return i
}

func result(diags []diag.Diagnostic, ings ...*networkingv1.Ingress) reconcile.Result {
	var objs []store.Object
	for _, i := range ings {
		objs = append(objs, store.Object{Obj: i})
	}
	return reconcile.Result{Snapshot: store.FromObjects(objs, nil), Diagnostics: diags}
}

func newWriter(t *testing.T, addrs Addresses, objs ...runtime.Object) (*Writer, *fake.Clientset, *record.FakeRecorder) {
	t.Helper()
	c := fake.NewClientset(objs...)
	rec := record.NewFakeRecorder(100)
	w := New(Options{Client: c, Addresses: addrs, Recorder: rec, Translate: translate.Options{IngressClass: "moat"}})
	return w, c, rec
}

func statusUpdates(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}

func lbOf(t *testing.T, c *fake.Clientset, name string) []string {
	t.Helper()
	i, err := c.NetworkingV1().Ingresses("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lbString(i.Status.LoadBalancer.Ingress)
}

func TestWritesClaimedOnlyOnce(t *testing.T) {
	mine, other := ing("mine", "moat"), ing("other", "nginx", "192.0.2.9")
	w, c, _ := newWriter(t, Static{{IP: "203.0.113.1"}}, mine, other)
	r := result(nil, mine, other)
	if err := w.sync(context.Background(), &r, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if got := lbOf(t, c, "mine"); strings.Join(got, ",") != "203.0.113.1" {
		t.Errorf("claimed ingress status = %v", got)
	}
	if got := lbOf(t, c, "other"); strings.Join(got, ",") != "192.0.2.9" {
		t.Errorf("another controller's ingress status = %v, want untouched", got)
	}
	if n := statusUpdates(c); n != 1 {
		t.Fatalf("%d status updates, want 1", n)
	}
	// The same (stale) snapshot again: the writer remembers its write.
	if err := w.sync(context.Background(), &r, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	// A snapshot that has caught up: compare finds nothing to do.
	cur, _ := c.NetworkingV1().Ingresses("default").Get(context.Background(), "mine", metav1.GetOptions{})
	r2 := result(nil, cur, other)
	if err := w.sync(context.Background(), &r2, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if n := statusUpdates(c); n != 1 {
		t.Errorf("%d status updates after unchanged passes, want 1", n)
	}
}

func TestRemovesOwnAddressWhenUnclaimed(t *testing.T) {
	gone := ing("gone", "nginx", "203.0.113.1", "192.0.2.9")
	w, c, _ := newWriter(t, Static{{IP: "203.0.113.1"}}, gone)
	r := result(nil, gone)
	if err := w.sync(context.Background(), &r, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if got := lbOf(t, c, "gone"); strings.Join(got, ",") != "192.0.2.9" {
		t.Errorf("unclaimed ingress status = %v, want only the other controller's entry", got)
	}
}

type unknown struct{}

func (unknown) Addresses() ([]networkingv1.IngressLoadBalancerIngress, bool) { return nil, false }

func TestUnknownAddressLeavesStatus(t *testing.T) {
	mine := ing("mine", "moat", "203.0.113.1")
	w, c, _ := newWriter(t, unknown{}, mine)
	r := result(nil, mine)
	if err := w.sync(context.Background(), &r, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if n := statusUpdates(c); n != 0 {
		t.Errorf("%d status updates while the address is unknown, want 0", n)
	}
}

func TestRetriesOnConflict(t *testing.T) {
	mine := ing("mine", "moat")
	w, c, _ := newWriter(t, Static{{IP: "203.0.113.1"}}, mine)
	conflicts := 1
	c.PrependReactor("update", "ingresses", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" && conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "mine", errors.New("changed"))
		}
		return false, nil, nil
	})
	r := result(nil, mine)
	if err := w.sync(context.Background(), &r, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if got := lbOf(t, c, "mine"); strings.Join(got, ",") != "203.0.113.1" {
		t.Errorf("status after a conflict = %v", got)
	}
}

func drain(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestEventsDeduplicated(t *testing.T) {
	mine := ing("mine", "moat")
	w, _, rec := newWriter(t, nil, mine)
	missing := diag.Diagnostic{Object: diag.ObjectRef{Kind: "Ingress", Namespace: "default", Name: "mine"}, Severity: diag.Error,
		Reason: "TLSSecretNotFound", Field: "spec.tls[0].secretName", Message: `tls secret "web-tls" not found in namespace default`}
	info := diag.Diagnostic{Object: diag.ObjectRef{Kind: "Ingress", Namespace: "default", Name: "mine"}, Severity: diag.Info, Reason: "Advice", Message: "fyi"}
	seen := map[string]bool{}
	pass := func(ds ...diag.Diagnostic) []string {
		r := result(ds, mine)
		if err := w.sync(context.Background(), &r, seen); err != nil {
			t.Fatal(err)
		}
		return drain(rec)
	}
	got := pass(missing, info)
	if len(got) != 1 || !strings.HasPrefix(got[0], "Warning TLSSecretNotFound spec.tls[0].secretName: ") || !strings.Contains(got[0], `"web-tls"`) {
		t.Fatalf("first pass events = %q, want one Warning naming the Secret", got)
	}
	if got := pass(missing, info); len(got) != 0 {
		t.Errorf("unchanged problem reported again: %q", got)
	}
	if got := pass(info); len(got) != 0 {
		t.Errorf("fixed problem produced %q", got)
	}
	if got := pass(missing); len(got) != 1 {
		t.Errorf("problem back after a fix: events %q, want 1", got)
	}
}

func TestParseStatic(t *testing.T) {
	s, err := ParseStatic("lb.example.com, 203.0.113.5,203.0.113.5")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lbString(s), ","); got != "lb.example.com,203.0.113.5" {
		t.Errorf("ParseStatic = %s", got)
	}
	for _, bad := range []string{"", " , ", "not_a host"} {
		if _, err := ParseStatic(bad); err == nil {
			t.Errorf("ParseStatic(%q) accepted", bad)
		}
	}
}

func TestServiceAddresses(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  corev1.Service
		want string
	}{
		{"load balancer", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.5"},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "203.0.113.7"}}}}},
			"lb.example.com,203.0.113.7"},
		{"pending load balancer", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.5"}}, ""},
		{"external IPs", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.0.0.5", ExternalIPs: []string{"198.51.100.1"}}}, "198.51.100.1"},
		{"cluster IP", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.0.0.5"}}, "10.0.0.5"},
		{"external name", corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "edge.example.com"}}, "edge.example.com"},
	} {
		if got := strings.Join(lbString(serviceAddresses(&tc.svc)), ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
