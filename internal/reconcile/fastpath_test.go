package reconcile

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/dataplane"
	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// TestEndpointOnlyChangeSkipsTranslate: an EndpointSlice change reaches
// the data plane without translate, and a request over loopback reaches
// the new endpoint; a change that empties the pool translates in full.
func TestEndpointOnlyChangeSkipsTranslate(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	def, err := certs.GenerateDefault(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dp, err := dataplane.New(dataplane.Options{DefaultCert: def})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- dp.Serve(ctx, ln, nil, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	st := store.New()
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}})
	prefix := networkingv1.PathTypePrefix
	st.Upsert(store.Object{Obj: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}})
	slice := func(addr string, ready bool) {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		p32 := int32(p)
		st.Upsert(store.Object{Obj: &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			Ports:      []discoveryv1.EndpointPort{{Port: &p32}},
			Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		}})
	}
	slice(a, true)

	translations := 0
	l := &Loop{
		Store:   st,
		Options: translate.Options{WatchWithoutClass: true},
		Apply:   dp.Apply,
		Translate: func(sn *store.Snapshot, o translate.Options) (*routecfg.Config, []diag.Diagnostic) {
			translations++
			return translate.Translate(sn, o)
		},
		ApplyEndpoints: dp.ApplyEndpoints,
	}
	get := func() string {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		req.Host = "web.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return strconv.Itoa(resp.StatusCode)
		}
		return string(body)
	}

	if r := l.Once(); r.ApplyErr != nil || r.EndpointsOnly || translations != 1 {
		t.Fatalf("first pass: err %v, endpoints-only %v, %d translations", r.ApplyErr, r.EndpointsOnly, translations)
	}
	if got := get(); got != "a" {
		t.Fatalf("before the change: %q, want a", got)
	}

	slice(b, true)
	r := l.Once()
	if !r.EndpointsOnly || translations != 1 {
		t.Fatalf("endpoint-only change: endpoints-only %v, %d translations (want 1)", r.EndpointsOnly, translations)
	}
	if got := get(); got != "b" {
		t.Errorf("after the endpoint change: %q, want b", got)
	}
	if eps := dp.Config().Pools["d/web:80"].Endpoints; len(eps) != 1 || eps[0].Address != b {
		t.Errorf("served config's pool endpoints: %v, want %s", eps, b)
	}

	// No ready endpoint left: diagnostics change, so translate runs.
	slice(b, false)
	if r := l.Once(); r.EndpointsOnly || translations != 2 || len(r.Diagnostics) == 0 {
		t.Errorf("emptying change: endpoints-only %v, %d translations, diagnostics %v", r.EndpointsOnly, translations, r.Diagnostics)
	}
	if got := get(); got != "503" {
		t.Errorf("with no ready endpoint: %q, want 503", got)
	}

	// A change beside the slices (a Service) translates.
	slice(a, true)
	l.Once()
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "other"}}})
	slice(b, true)
	if r := l.Once(); r.EndpointsOnly || translations != 4 {
		t.Errorf("mixed change: endpoints-only %v, %d translations (want 4)", r.EndpointsOnly, translations)
	}
	if got := get(); got != "b" {
		t.Errorf("after the mixed change: %q, want b", got)
	}

	// A translate older than refreshAfter (its certificate validity
	// findings may be stale) makes the next endpoint change translate.
	l.fullAt = l.fullAt.Add(-2 * refreshAfter)
	slice(a, true)
	if r := l.Once(); r.EndpointsOnly || translations != 5 {
		t.Errorf("after refreshAfter: endpoints-only %v, %d translations (want 5)", r.EndpointsOnly, translations)
	}
	slice(b, true)
	if r := l.Once(); !r.EndpointsOnly || translations != 5 {
		t.Errorf("after the refresh: endpoints-only %v, %d translations (want 5)", r.EndpointsOnly, translations)
	}

	// After a refused apply the fast path is off until a pass applies.
	l.Apply = func(*routecfg.Config) error { return errors.New("refused") }
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "third"}}})
	l.Once()
	slice(a, true)
	if r := l.Once(); r.EndpointsOnly {
		t.Errorf("the fast path ran after a refused apply")
	}
}

func backend(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
