package kube

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/moat-ingress/moat/internal/store"
)

func TestStrip(t *testing.T) {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default",
			Labels:        map[string]string{discoveryv1.LabelServiceName: "web", "endpointslice.kubernetes.io/managed-by": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}},
			Annotations:   map[string]string{"endpoints.kubernetes.io/last-change-trigger-time": "now"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.2.3"}, NodeName: ptr("node-1"), Zone: ptr("a"),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1"}}},
	}
	if _, err := Strip(es); err != nil {
		t.Fatal(err)
	}
	if es.ManagedFields != nil || es.Annotations != nil || len(es.Labels) != 1 || es.Labels[discoveryv1.LabelServiceName] != "web" {
		t.Errorf("metadata not stripped to the service-name label: %+v", es.ObjectMeta)
	}
	if e := es.Endpoints[0]; e.NodeName != nil || e.Zone != nil || e.TargetRef != nil || e.Addresses[0] != "10.1.2.3" {
		t.Errorf("endpoint = %+v, want only addresses and conditions", e)
	}

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Annotations: map[string]string{lastApplied: "{...key...}", "keep": "me"}}}
	if _, err := Strip(sec); err != nil {
		t.Fatal(err)
	}
	if _, ok := sec.Annotations[lastApplied]; ok || sec.Annotations["keep"] != "me" {
		t.Errorf("secret annotations = %v, want last-applied dropped, others kept", sec.Annotations)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSourceMirrorsStore runs the informers against a fake clientset: the
// store holds what the API has, limited to the watched namespace, and
// follows updates and deletes.
func TestSourceMirrorsStore(t *testing.T) {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: "1"}}
	elsewhere := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "other", ResourceVersion: "1"}}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "moat"}, Spec: networkingv1.IngressClassSpec{Controller: "moat.dev/ingress-controller"}}
	def := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "default-cert", Namespace: "certs"}, Type: corev1.SecretTypeTLS}
	pages := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pages", Namespace: "errors"}}
	pagesEPs := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "pages-1", Namespace: "errors", Labels: map[string]string{discoveryv1.LabelServiceName: "pages"}}}
	otherSvc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "other"}}
	c := fake.NewClientset(ing, elsewhere, class, def, pages, pagesEPs, otherSvc)
	st := store.New()
	src, err := New(Options{Client: c, Store: st, Namespaces: []string{"shop"}, SecretNamespaces: []string{"certs"}, ServiceNamespaces: []string{"errors", "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := src.WaitForSync(sctx); err != nil {
		t.Fatal(err)
	}
	sn := st.Snapshot()
	if len(sn.Ingresses) != 1 || sn.Ingresses[0].Namespace != "shop" {
		t.Errorf("ingresses = %v, want only shop/web", sn.Ingresses)
	}
	if sn.IngressClasses["moat"] == nil {
		t.Error("ingress class moat missing")
	}
	if sn.Secrets["certs/default-cert"] == nil {
		t.Error("the default certificate's Secret (another namespace) missing")
	}
	if sn.Services["errors/pages"] == nil || len(sn.EndpointSlices["errors/pages"]) != 1 {
		t.Errorf("the default backend's Service and EndpointSlice (another namespace) missing: %v %v", sn.Services, sn.EndpointSlices)
	}
	if sn.Services["other/x"] != nil {
		t.Error("a Service of a namespace not watched is in the store")
	}
	// Without a default backend no other namespace's Services are read.
	st2 := store.New()
	src2, err := New(Options{Client: c, Store: st2, Namespaces: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = src2.Run(ctx) }()
	if err := src2.WaitForSync(sctx); err != nil {
		t.Fatal(err)
	}
	if sn := st2.Snapshot(); sn.Services["errors/pages"] != nil || sn.Services["other/x"] != nil {
		t.Errorf("Services of namespaces not watched: %v", sn.Services)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}}
	if _, err := c.CoreV1().Services("shop").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.NetworkingV1().Ingresses("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sn = st.Snapshot()
		if sn.Services["shop/web"] != nil && len(sn.Ingresses) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not follow: services %v, ingresses %v", sn.Services, sn.Ingresses)
		}
		select {
		case <-st.Changed():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
