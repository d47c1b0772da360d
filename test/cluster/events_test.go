package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// TestWarningEvents checks that a broken tls reference becomes one Warning
// Event on the Ingress naming the Secret, that an unchanged problem is not
// reported again on later reconciles, and that a fixed one stops.
func TestWarningEvents(t *testing.T) {
	ns := namespace(t, "events")
	ctx := context.Background()
	ip := backend(t, "shop")
	createService(t, ns, "shop", ip)
	createIngress(t, ingress(ns, "shop", "shop.events.test", "/", "shop", "shop-tls"))
	m := startMoat(t, "moat-events", nil, ns)

	eventually(t, 20*time.Second, "TLSSecretNotFound event", eventsFor(ctx, ns, "shop", "TLSSecretNotFound", 1, `"shop-tls"`))

	// A second problem on the same Ingress: once its Event is there, the
	// writer has handled a later reconcile, and the first problem must
	// not have been reported again.
	addPath(t, ns, "shop", "/missing", "no-such-service")
	eventually(t, 20*time.Second, "ServiceNotFound event", eventsFor(ctx, ns, "shop", "ServiceNotFound", 1, `"no-such-service"`))
	if err := eventsFor(ctx, ns, "shop", "TLSSecretNotFound", 1, "")(); err != nil {
		t.Errorf("unchanged problem reported again: %v", err)
	}

	// Fix the Secret; moat serves its certificate.
	ca := newCA(t)
	crt, key, serial := ca.issue(t, "shop.events.test")
	if _, err := cp.client.CoreV1().Secrets(ns).Create(ctx, tlsSecret(ns, "shop-tls", crt, key), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "certificate served", serves(m.client(ca.Pool), "https://shop.events.test/", http.StatusOK, "shop", serial))
	// A third problem marks a later pass again; the fixed one stays at
	// one Event, with count 1.
	addPath(t, ns, "shop", "/also-missing", "other-missing-service")
	eventually(t, 20*time.Second, "second ServiceNotFound event", eventsFor(ctx, ns, "shop", "ServiceNotFound", 2, ""))
	if err := eventsFor(ctx, ns, "shop", "TLSSecretNotFound", 1, "")(); err != nil {
		t.Errorf("fixed problem reported again: %v", err)
	}
}

func addPath(t *testing.T, ns, name, path, service string) {
	t.Helper()
	pt := networkingv1.PathTypePrefix
	updateIngress(t, ns, name, func(ing *networkingv1.Ingress) {
		h := ing.Spec.Rules[0].HTTP
		h.Paths = append(h.Paths, networkingv1.HTTPIngressPath{Path: path, PathType: &pt, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}}}})
	})
}

// eventsFor returns nil once the Ingress has Warning Events with the
// reason adding up to n (counting repeats), one of them naming text.
func eventsFor(ctx context.Context, ns, name, reason string, n int, text string) func() error {
	return func() error {
		sel := fields.Set{"involvedObject.kind": "Ingress", "involvedObject.name": name, "reason": reason}.AsSelector().String()
		l, err := cp.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		total := 0
		var msgs []string
		for _, e := range l.Items {
			if e.Type != corev1.EventTypeWarning {
				return fmt.Errorf("event %s has type %s, want Warning", e.Name, e.Type)
			}
			if e.Source.Component != "moat" {
				return fmt.Errorf("event %s from %q, want moat", e.Name, e.Source.Component)
			}
			total += max(int(e.Count), 1)
			msgs = append(msgs, e.Message)
		}
		if total != n {
			return fmt.Errorf("%d %s events on ingress %s/%s, want %d: %q", total, reason, ns, name, n, msgs)
		}
		if text == "" {
			return nil
		}
		for _, m := range msgs {
			if strings.Contains(m, text) {
				return nil
			}
		}
		return fmt.Errorf("no %s event message names %s: %q", reason, text, msgs)
	}
}
