package cluster

import (
	"context"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
)

// TestInPlaceMigration is the in-place path of
// docs/migrate-from-ingress-nginx.md: moat run with --ingress-class nginx
// --controller-class k8s.io/ingress-nginx claims ingress-nginx's
// IngressClass and serves its Ingresses unchanged (by spec.ingressClassName
// and by the old annotation), writing their status; Ingresses of moat's own
// class are now another controller's and left alone.
func TestInPlaceMigration(t *testing.T) {
	ns := namespace(t, "inplace")
	ctx := context.Background()
	// ingress-nginx's IngressClass, as its chart installs it.
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if _, err := cp.client.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ip := backend(t, "shop")
	createService(t, ns, "shop", ip)
	byName := ingress(ns, "by-name", "shop.inplace.test", "/", "shop", "")
	byName.Spec.IngressClassName = ptr("nginx")
	createIngress(t, byName)
	byAnnotation := ingress(ns, "by-annotation", "legacy.inplace.test", "/", "shop", "")
	byAnnotation.Spec.IngressClassName = nil
	byAnnotation.Annotations = map[string]string{"kubernetes.io/ingress.class": "nginx"}
	createIngress(t, byAnnotation)
	createIngress(t, ingress(ns, "moat-class", "other.inplace.test", "/", "shop", ""))

	m := startMoat(t, "moat-inplace", func(c *app.ControllerConfig) {
		c.IngressClass = "nginx"
		c.ControllerClass = "k8s.io/ingress-nginx"
	}, ns)
	c := m.client(nil)
	for _, url := range []string{"http://shop.inplace.test/", "http://legacy.inplace.test/"} {
		if err := serves(c, url, http.StatusOK, "shop", nil)(); err != nil {
			t.Errorf("class nginx: %v", err)
		}
	}
	if err := serves(c, "http://other.inplace.test/", http.StatusNotFound, "", nil)(); err != nil {
		t.Errorf("class moat, now another controller's: %v", err)
	}
	eventually(t, 20*time.Second, "status of by-name", ingressStatus(ctx, ns, "by-name", firstAddress))
	eventually(t, 20*time.Second, "status of by-annotation", ingressStatus(ctx, ns, "by-annotation", firstAddress))
	if err := ingressStatus(ctx, ns, "moat-class")(); err != nil {
		t.Errorf("an Ingress moat does not serve got status: %v", err)
	}
}

// TestSideBySideMigration is the side-by-side path: moat on its own class
// next to ingress-nginx leaves class nginx Ingresses and the status
// ingress-nginx wrote alone; an Ingress moved to class moat is served and
// gets moat's address in its status.
func TestSideBySideMigration(t *testing.T) {
	ns := namespace(t, "sidebyside")
	ctx := context.Background()
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if _, err := cp.client.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ip := backend(t, "shop")
	createService(t, ns, "shop", ip)
	old := ingress(ns, "shop", "shop.sidebyside.test", "/", "shop", "")
	old.Spec.IngressClassName = ptr("nginx")
	createIngress(t, old)
	// ingress-nginx's leader has written its load balancer's address.
	const nginxAddress = "198.51.100.7"
	ing, err := cp.client.NetworkingV1().Ingresses(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: nginxAddress}}
	if _, err := cp.client.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	createIngress(t, ingress(ns, "new", "new.sidebyside.test", "/", "shop", ""))

	m := startMoat(t, "moat-sidebyside", nil, ns)
	c := m.client(nil)
	if err := serves(c, "http://new.sidebyside.test/", http.StatusOK, "shop", nil)(); err != nil {
		t.Errorf("class moat: %v", err)
	}
	if err := serves(c, "http://shop.sidebyside.test/", http.StatusNotFound, "", nil)(); err != nil {
		t.Errorf("class nginx, still ingress-nginx's: %v", err)
	}
	eventually(t, 20*time.Second, "status of the class moat Ingress", ingressStatus(ctx, ns, "new", firstAddress))
	if err := ingressStatus(ctx, ns, "shop", nginxAddress)(); err != nil {
		t.Errorf("ingress-nginx's status touched: %v", err)
	}

	// Move the Ingress to moat.
	updateIngress(t, ns, "shop", func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = ptr("moat") })
	eventually(t, 5*time.Second, "moved Ingress served", serves(c, "http://shop.sidebyside.test/", http.StatusOK, "shop", nil))
	eventually(t, 20*time.Second, "moat's address in the moved Ingress's status", ingressStatus(ctx, ns, "shop", firstAddress))
}
