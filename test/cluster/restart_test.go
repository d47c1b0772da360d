package cluster

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestAPIServerRestart stops the API server under a running moat: moat
// keeps serving its last configuration and stays ready throughout, then
// reconnects and picks up a change made after the restart.
func TestAPIServerRestart(t *testing.T) {
	ns := namespace(t, "restart")
	ip := backend(t, "api")
	createService(t, ns, "api", ip)
	createIngress(t, ingress(ns, "api", "api.restart.test", "/before", "api", ""))
	m := startMoat(t, "moat-restart", nil, ns)
	c := m.client(nil)
	eventually(t, 5*time.Second, "route served", serves(c, "http://api.restart.test/before/x", http.StatusOK, "api", nil))

	// A prober checks serving and readiness every 50 ms for the whole
	// outage; every probe must succeed.
	var probes, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			probes.Add(1)
			err := serves(c, "http://api.restart.test/before/x", http.StatusOK, "api", nil)()
			if err == nil {
				err = ready(m)
			}
			if err != nil {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}
	})

	api := cp.env.ControlPlane.APIServer
	start := time.Now()
	if err := api.Stop(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	// Long enough for watches to break and the leader to lose its lease
	// (renew deadline 2 s in these tests).
	outage := time.NewTimer(3 * time.Second)
	<-outage.C
	if err := api.Start(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("restarting kube-apiserver: %v", err)
	}
	t.Logf("API server away for %v", time.Since(start).Round(100*time.Millisecond))
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d probes failed during the outage; first: %v", n, probes.Load(), firstErr.Load())
	}
	t.Logf("%d probes during the outage, all served", probes.Load())

	// A change made after the restart reaches the data plane once the
	// informers have reconnected (the reflector backs off up to 30 s).
	updateIngress(t, ns, "api", func(ing *networkingv1.Ingress) {
		ing.Spec.Rules[0].HTTP.Paths[0].Path = "/after"
	})
	d := eventually(t, 60*time.Second, "change after restart served", serves(c, "http://api.restart.test/after/x", http.StatusOK, "api", nil))
	t.Logf("change after the restart served after %v", d.Round(time.Millisecond))
	if err := serves(c, "http://api.restart.test/before/x", http.StatusNotFound, "", nil)(); err != nil {
		t.Errorf("old path after the change: %v", err)
	}
	// And status writing resumed: the leader re-acquired the Lease.
	eventually(t, 30*time.Second, "status written after the restart", ingressStatus(context.Background(), ns, "api", firstAddress))
}

func ready(m *moat) error {
	resp, err := http.Get("http://" + m.addrs.Admin + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusErr{resp.StatusCode}
	}
	return nil
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return "readyz: " + http.StatusText(e.code) }
