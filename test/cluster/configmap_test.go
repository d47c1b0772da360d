package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestControllerConfigMap: in cluster mode the controller ConfigMap
// (--configmap moat-system/moat) is read through the API like any other
// input and goes through the same controllerconfig path as in file mode:
// global-auth-url with no-auth-locations and proxy-body-size apply to
// every Ingress, and a change to the ConfigMap applies without a restart.
func TestControllerConfigMap(t *testing.T) {
	ns := namespace(t, "configmap")
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	t.Cleanup(auth.Close)
	setConfigMap(t, map[string]string{"global-auth-url": auth.URL, "no-auth-locations": "/public", "proxy-body-size": "1k"})

	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	createIngress(t, ingress(ns, "public", "cm.configmap.test", "/public", "web", ""))
	createIngress(t, ingress(ns, "private", "cm.configmap.test", "/private", "web", ""))
	m := startMoat(t, "moat-configmap", nil, ns)
	c := m.client(nil)

	if err := serves(c, "http://cm.configmap.test/public/x", http.StatusOK, "web", nil)(); err != nil {
		t.Errorf("no-auth-locations: %v", err)
	}
	if err := serves(c, "http://cm.configmap.test/private/x", http.StatusUnauthorized, "", nil)(); err != nil {
		t.Errorf("global-auth-url: %v", err)
	}
	resp, err := c.Post("http://cm.configmap.test/public/x", "text/plain", strings.NewReader(strings.Repeat("b", 2048)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 KiB over the ConfigMap's proxy-body-size 1k: %d", resp.StatusCode)
	}

	// The ConfigMap changes: /public is no longer exempt.
	setConfigMap(t, map[string]string{"global-auth-url": auth.URL, "no-auth-locations": "/other"})
	eventually(t, 5*time.Second, "the new no-auth-locations", serves(c, "http://cm.configmap.test/public/x", http.StatusUnauthorized, "", nil))
}

// setConfigMap replaces the controller ConfigMap's data until the test
// ends, then empties it again (deploy/ ships it empty).
func setConfigMap(t *testing.T, data map[string]string) {
	t.Helper()
	install(t)
	ctx := context.Background()
	cms := cp.client.CoreV1().ConfigMaps(systemNS)
	cm, err := cms.Get(ctx, "moat", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("configmap %s/moat: %v", systemNS, err)
	}
	cm.Data = data
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("configmap %s/moat: %v", systemNS, err)
	}
	t.Cleanup(func() {
		cm, err := cms.Get(ctx, "moat", metav1.GetOptions{})
		if err == nil {
			cm.Data = nil
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("restoring configmap %s/moat: %v", systemNS, err)
		}
	})
}
