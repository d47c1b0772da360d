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
