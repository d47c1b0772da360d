package cluster

import (
	"context"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRoutesHTTPS follows one Ingress through its life: created with the
// API, served over HTTPS with its Secret's certificate; the Secret
// rotated, the path changed, the Ingress deleted, each visible within 1 s.
func TestRoutesHTTPS(t *testing.T) {
	ns := namespace(t, "routing")
	ctx := context.Background()
	ca := newCA(t)
	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	crt, key, serial := ca.issue(t, "web.routing.test")
	if _, err := cp.client.CoreV1().Secrets(ns).Create(ctx, tlsSecret(ns, "web-tls", crt, key), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createIngress(t, ingress(ns, "web", "web.routing.test", "/app", "web", "web-tls"))

	m := startMoat(t, "moat-routing", nil, ns)
	c := m.client(ca.Pool)
	// Everything existed before moat started: the first configuration,
	// applied before readiness, already serves it.
	if err := serves(c, "https://web.routing.test/app/x", http.StatusOK, "web", serial)(); err != nil {
		t.Fatalf("after startup: %v", err)
	}
	if err := serves(c, "https://web.routing.test/other", http.StatusNotFound, "", serial)(); err != nil {
		t.Fatalf("after startup: %v", err)
	}

	t.Run("secret rotation", func(t *testing.T) {
		crt2, key2, serial2 := ca.issue(t, "web.routing.test")
		sec, err := cp.client.CoreV1().Secrets(ns).Get(ctx, "web-tls", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec.Data["tls.crt"], sec.Data["tls.key"] = crt2, key2
		if _, err := cp.client.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d := eventually(t, time.Second, "new certificate served", serves(c, "https://web.routing.test/app/x", http.StatusOK, "web", serial2))
		t.Logf("new certificate served %v after the Secret update", d.Round(time.Millisecond))
	})

	t.Run("path change", func(t *testing.T) {
		updateIngress(t, ns, "web", func(ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Path = "/v2"
		})
		d := eventually(t, time.Second, "new path served", serves(c, "https://web.routing.test/v2/x", http.StatusOK, "web", nil))
		t.Logf("new path served %v after the Ingress update", d.Round(time.Millisecond))
		if err := serves(c, "https://web.routing.test/app/x", http.StatusNotFound, "", nil)(); err != nil {
			t.Errorf("old path: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := cp.client.NetworkingV1().Ingresses(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The host's certificate goes with the Ingress: moat now presents
		// its default one, so this client does not verify it.
		insecure := m.client(nil)
		d := eventually(t, time.Second, "host answers 404", serves(insecure, "https://web.routing.test/v2/x", http.StatusNotFound, "", nil))
		t.Logf("404 %v after the delete", d.Round(time.Millisecond))
		if err := serves(insecure, "http://web.routing.test/v2/x", http.StatusNotFound, "", nil)(); err != nil {
			t.Errorf("plain HTTP: %v", err)
		}
	})
}
