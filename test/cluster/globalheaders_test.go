package cluster

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGlobalHeaderConfigMaps: the ConfigMaps that the controller
// ConfigMap's add-headers and proxy-set-headers name (in the controller's
// own namespace, outside the watched ones, as ingress-nginx installs do)
// are read under deploy/'s RBAC before the configuration is served, a
// change to one applies live, and naming another one switches to it.
func TestGlobalHeaderConfigMaps(t *testing.T) {
	ns := namespace(t, "globalhdr")
	ctx := context.Background()
	setConfigMap(t, map[string]string{"add-headers": systemNS + "/resp-headers", "hide-headers": "X-Nothing"})
	cms := cp.client.CoreV1().ConfigMaps(systemNS)
	mkCM := func(name string, data map[string]string) {
		t.Helper()
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: systemNS}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cms.Delete(ctx, name, metav1.DeleteOptions{}) })
	}
	mkCM("resp-headers", map[string]string{"X-Global": "one"})
	mkCM("resp-headers-2", map[string]string{"X-Global": "two"})

	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	createIngress(t, ingress(ns, "web", "web.globalhdr.test", "/", "web", ""))

	m := startMoat(t, "moat-globalhdr", nil, ns)
	c := m.client(nil)
	if err := header(c, "http://web.globalhdr.test/", "X-Global", "one")(); err != nil {
		t.Fatalf("add-headers after startup: %v", err)
	}

	cm, err := cms.Get(ctx, "resp-headers", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["X-Global"] = "changed"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "X-Global: changed", header(c, "http://web.globalhdr.test/", "X-Global", "changed"))

	ctrl, err := cms.Get(ctx, "moat", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctrl.Data["add-headers"] = systemNS + "/resp-headers-2"
	if _, err := cms.Update(ctx, ctrl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "X-Global from the newly named ConfigMap", header(c, "http://web.globalhdr.test/", "X-Global", "two"))
	if err := serves(c, "http://web.globalhdr.test/", http.StatusOK, "web", nil)(); err != nil {
		t.Error(err)
	}
}
