package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
)

// TestDefaultBackendService: --default-backend-service through the
// controller, the Service in a namespace moat does not otherwise watch:
// unmatched requests reach it, the ConfigMap's custom-http-errors send
// moat's own 503 to it with X-Code, a new EndpointSlice endpoint is
// followed live, and without the Service the built-in 404 answers.
func TestDefaultBackendService(t *testing.T) {
	ns := namespace(t, "errpages")
	errNS := namespace(t, "errbackend")
	setConfigMap(t, map[string]string{"custom-http-errors": "503"})
	createService(t, errNS, "errors", backend(t, "errors"))
	createService(t, ns, "web", backend(t, "web"))
	createService(t, ns, "down")
	createIngress(t, ingress(ns, "web", "web.errpages.test", "/", "web", ""))
	createIngress(t, ingress(ns, "down", "down.errpages.test", "/", "down", ""))
	m := startMoat(t, "moat-errpages", func(c *app.ControllerConfig) { c.DefaultBackendService = errNS + "/errors" }, ns)
	c := m.client(nil)

	if err := serves(c, "http://nohost.errpages.test/x", http.StatusOK, "errors", nil)(); err != nil {
		t.Errorf("unmatched host: %v", err)
	}
	if err := serves(c, "http://web.errpages.test/x", http.StatusOK, "web", nil)(); err != nil {
		t.Errorf("matched host: %v", err)
	}
	// No endpoints: moat's 503, listed, is the default backend's page.
	r, err := getEcho(c, "http://down.errpages.test/a?q=1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "errors" || r.Path != "/" || r.RawQuery != "q=1" || first(r.Headers["X-Code"]) != "503" || first(r.Headers["X-Original-Uri"]) != "/a?q=1" ||
		first(r.Headers["X-Namespace"]) != ns || first(r.Headers["X-Ingress-Name"]) != "down" || first(r.Headers["X-Service-Name"]) != "down" || first(r.Headers["X-Service-Port"]) != "80" {
		t.Errorf("error page: %+v", r)
	}

	// The EndpointSlice changes: the next endpoint serves.
	ip := backend(t, "errors2")
	ctx := context.Background()
	slices := cp.client.DiscoveryV1().EndpointSlices(errNS)
	eps, err := slices.Get(ctx, "errors-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eps.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}}
	if _, err := slices.Update(ctx, eps, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the new endpoint", serves(c, "http://nohost.errpages.test/x", http.StatusOK, "errors2", nil))

	// The Service goes: the built-in 404, and the good routes serve on.
	if err := cp.client.CoreV1().Services(errNS).Delete(ctx, "errors", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the built-in 404", serves(c, "http://nohost.errpages.test/x", http.StatusNotFound, "", nil))
	if err := serves(c, "http://web.errpages.test/x", http.StatusOK, "web", nil)(); err != nil {
		t.Errorf("matched host: %v", err)
	}
}

// getEcho reads an echo backend's answer.
func getEcho(c *http.Client, url string) (echo.Response, error) {
	var r echo.Response
	resp, err := c.Get(url)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("GET %s: %d, not an echo answer: %v", url, resp.StatusCode, err)
	}
	return r, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
