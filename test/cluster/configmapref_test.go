package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestConfigMapReferences: the ConfigMaps that annotations name
// (custom-headers, auth-proxy-set-headers) work in cluster mode under
// deploy/'s RBAC: read at startup, a change applies live, a ConfigMap
// named later is read before the Ingress naming it is served, and one that
// vanishes is a Warning Event on the Ingress naming the ConfigMap while
// the Ingress keeps serving.
func TestConfigMapReferences(t *testing.T) {
	ns := namespace(t, "cmref")
	ctx := context.Background()
	setConfigMap(t, map[string]string{"global-allowed-response-headers": "X-Team,X-Late"})
	cms := cp.client.CoreV1().ConfigMaps(ns)
	mkCM := func(name string, data map[string]string) {
		t.Helper()
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkCM("team-headers", map[string]string{"X-Team": "blue"})
	mkCM("auth-headers", map[string]string{"X-From-ConfigMap": "yes"})
	mkCM("late-headers", map[string]string{"X-Late": "here"})
	// Not named by any Ingress: moat must not need it (nor read it).
	mkCM("unrelated", map[string]string{"big": strings.Repeat("x", 1024)})

	// The auth service admits only requests carrying the header the
	// auth-proxy-set-headers ConfigMap adds.
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-From-ConfigMap") != "yes" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(auth.Close)

	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	team := ingress(ns, "team", "team.cmref.test", "/", "web", "")
	team.Annotations = map[string]string{"nginx.ingress.kubernetes.io/custom-headers": "team-headers"}
	createIngress(t, team)
	authed := ingress(ns, "authed", "auth.cmref.test", "/", "web", "")
	authed.Annotations = map[string]string{
		"nginx.ingress.kubernetes.io/auth-url":               auth.URL,
		"nginx.ingress.kubernetes.io/auth-proxy-set-headers": ns + "/auth-headers",
	}
	createIngress(t, authed)

	m := startMoat(t, "moat-cmref", nil, ns)
	c := m.client(nil)
	// Read before the first configuration: served right away.
	if err := header(c, "http://team.cmref.test/", "X-Team", "blue")(); err != nil {
		t.Fatalf("custom-headers after startup: %v", err)
	}
	if err := serves(c, "http://auth.cmref.test/", http.StatusOK, "web", nil)(); err != nil {
		t.Fatalf("auth-proxy-set-headers after startup: %v", err)
	}

	t.Run("change applies live", func(t *testing.T) {
		cm, err := cms.Get(ctx, "team-headers", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["X-Team"] = "green"
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d := eventually(t, 5*time.Second, "X-Team: green", header(c, "http://team.cmref.test/", "X-Team", "green"))
		t.Logf("ConfigMap change served %v after the update", d.Round(time.Millisecond))
	})

	t.Run("named later", func(t *testing.T) {
		updateIngress(t, ns, "team", func(ing *networkingv1.Ingress) {
			ing.Annotations["nginx.ingress.kubernetes.io/custom-headers"] = "late-headers"
		})
		eventually(t, 5*time.Second, "X-Late from the newly named ConfigMap", header(c, "http://team.cmref.test/", "X-Late", "here"))
		// The ConfigMap was read before the Ingress naming it was
		// translated: no pass (each logs its new diagnostics) found it
		// missing.
		if strings.Contains(m.logs.String(), "late-headers not found") {
			t.Errorf("a ConfigMap named later was reported missing before it was read:\n%s", m.logs.String())
		}
	})

	t.Run("vanishes", func(t *testing.T) {
		if err := cms.Delete(ctx, "auth-headers", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The auth request loses its header: 401, the Ingress is still
		// routed; the other Ingress is untouched.
		eventually(t, 5*time.Second, "auth without the ConfigMap's header", serves(c, "http://auth.cmref.test/", http.StatusUnauthorized, "", nil))
		eventually(t, 20*time.Second, "ConfigMapNotFound event", eventsFor(ctx, ns, "authed", "ConfigMapNotFound", 1, ns+"/auth-headers"))
		if err := header(c, "http://team.cmref.test/", "X-Late", "here")(); err != nil {
			t.Errorf("the other Ingress: %v", err)
		}
		mkCM("auth-headers", map[string]string{"X-From-ConfigMap": "yes"})
		eventually(t, 5*time.Second, "auth with the recreated ConfigMap", serves(c, "http://auth.cmref.test/", http.StatusOK, "web", nil))
	})

	// deploy/'s RBAC: list and watch, which the per-name watches need, but
	// no get and no write.
	for _, check := range []struct{ verb, want string }{{"list", "yes"}, {"watch", "yes"}, {"get", "no"}, {"update", "no"}} {
		out, _ := kubectl("auth", "can-i", check.verb, "configmaps", "--as", saUser, "-n", ns)
		if strings.TrimSpace(out) != check.want {
			t.Errorf("kubectl auth can-i %s configmaps as moat: %q, want %s", check.verb, strings.TrimSpace(out), check.want)
		}
	}
}

// header returns nil once url answers 200 with the response header name
// set to value.
func header(c *http.Client, url, name, value string) func() error {
	return func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get(name) != value {
			return fmt.Errorf("GET %s: status %d, %s: %q; want 200 and %q", url, resp.StatusCode, name, resp.Header.Get(name), value)
		}
		return nil
	}
}
