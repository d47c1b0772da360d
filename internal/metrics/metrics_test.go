package metrics

import (
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// gather returns "name{k=v,...} value" lines for every sample in reg.
func gather(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out = append(out, mf.GetName()+"{"+strings.Join(labels, ",")+"} "+value(mf.GetType(), m))
		}
	}
	sort.Strings(out)
	return out
}

func value(t dto.MetricType, m *dto.Metric) string {
	switch t {
	case dto.MetricType_COUNTER:
		return ftoa(m.GetCounter().GetValue())
	case dto.MetricType_GAUGE:
		return ftoa(m.GetGauge().GetValue())
	case dto.MetricType_HISTOGRAM:
		return "count=" + ftoa(float64(m.GetHistogram().GetSampleCount()))
	}
	return "?"
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func TestRequestsAndConnectErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewWith(reg, Options{Namespace: "ingress", Class: "k8s.io/ingress-nginx", Pod: "moat-0"})
	vh := &routecfg.VirtualHost{Host: "foo.com"}
	canary := &routecfg.Canary{Source: routecfg.Source{Namespace: "ns", Ingress: "web-canary", Service: "svc-v2", Port: "80"}}
	rt := &routecfg.Route{Path: "/api", Source: routecfg.Source{Namespace: "ns", Ingress: "web", Service: "svc", Port: "80"},
		Policy: &routecfg.RoutePolicy{Canary: canary}}
	vh.Routes = []*routecfg.Route{rt}

	up := Request{VH: vh, RT: rt, Method: "GET", Status: 200, Duration: 10 * time.Millisecond, RequestSize: 80, ResponseSize: 120,
		Upstream: true, Connect: time.Millisecond, Header: 2 * time.Millisecond, Response: 3 * time.Millisecond}
	m.ObserveRequest(&up)
	m.ObserveRequest(&up)
	bad := up
	bad.Status = 502
	m.ObserveRequest(&bad)
	can := up
	can.Canary = canary
	m.ObserveRequest(&can)
	m.ObserveRequest(&Request{VH: vh, Method: "BREW", Status: 404})
	m.ObserveRequest(&Request{Method: "GET", Status: 404})
	m.UpstreamConnectError(rt, nil)
	m.UpstreamConnectError(rt, canary)

	got := strings.Join(gather(t, reg), "\n")
	const cl = "controller_class=k8s.io/ingress-nginx,controller_namespace=ingress,controller_pod=moat-0,"
	for _, want := range []string{
		"nginx_ingress_controller_requests{canary=," + cl + "host=foo.com,ingress=web,method=GET,namespace=ns,path=/api,service=svc,status=200} 2",
		"nginx_ingress_controller_requests{canary=," + cl + "host=foo.com,ingress=web,method=GET,namespace=ns,path=/api,service=svc,status=502} 1",
		// The canary's Service and upstream name; the main Ingress.
		"nginx_ingress_controller_requests{canary=ns-svc-v2-80," + cl + "host=foo.com,ingress=web,method=GET,namespace=ns,path=/api,service=svc-v2,status=200} 1",
		// An unknown method and an unmatched path or host add no series of their own.
		"nginx_ingress_controller_requests{canary=," + cl + "host=foo.com,ingress=,method=OTHER,namespace=,path=,service=,status=404} 1",
		"nginx_ingress_controller_requests{canary=," + cl + "host=_,ingress=,method=GET,namespace=,path=,service=,status=404} 1",
		"nginx_ingress_controller_request_duration_seconds{canary=," + cl + "host=foo.com,ingress=web,method=GET,namespace=ns,path=/api,service=svc,status=200} count=2",
		"nginx_ingress_controller_response_duration_seconds{canary=ns-svc-v2-80," + cl + "host=foo.com,ingress=web,method=GET,namespace=ns,path=/api,service=svc-v2,status=200} count=1",
		"nginx_ingress_controller_request_size{canary=," + cl + "host=_,ingress=,method=GET,namespace=,path=,service=,status=404} count=1",
		"nginx_ingress_controller_nginx_process_requests_total{" + strings.TrimSuffix(cl, ",") + "} 6",
		"moat_upstream_connect_errors_total{service=ns/svc} 1",
		"moat_upstream_connect_errors_total{service=ns/svc-v2} 1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// Local answers have no upstream timings.
	if strings.Contains(got, "nginx_ingress_controller_connect_duration_seconds{canary=,"+cl+"host=_") {
		t.Errorf("upstream timing for a local answer:\n%s", got)
	}
}

func TestPruneDropsOldRoutes(t *testing.T) {
	m := New(prometheus.NewRegistry())
	old := &routecfg.Route{Path: "/"}
	kept := &routecfg.Route{Path: "/k"}
	vh := &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{kept}}
	m.ObserveRequest(&Request{VH: vh, RT: old, Status: 200})
	m.ObserveRequest(&Request{VH: vh, RT: kept, Status: 200})
	m.Prune(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{vh}})
	if _, ok := m.byRoute.Load(old); ok {
		t.Error("old route still cached")
	}
	if _, ok := m.byRoute.Load(kept); !ok {
		t.Error("kept route dropped")
	}
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.ObserveRequest(&Request{Status: 200})
	m.UpstreamConnectError(&routecfg.Route{}, nil)
	m.SetLeader("x", true)
	m.ConnState(nil, 0)
	m.ConfigApplied(true, time.Now())
	m.SetCertificates(&routecfg.Config{})
	m.Prune(&routecfg.Config{})
}

func TestConfigAndCertificates(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewWith(reg, Options{Class: "moat.dev/ingress-controller"})
	m.ConfigApplied(false, time.Unix(1, 0))
	m.ConfigApplied(true, time.Unix(1700000000, 0))

	notAfter := time.Unix(1800000000, 0)
	cert := &tls.Certificate{Leaf: &x509.Certificate{NotAfter: notAfter, SerialNumber: big.NewInt(4242)}}
	cfg := &routecfg.Config{
		VirtualHosts: []*routecfg.VirtualHost{
			{Host: "a.com", Certificate: "ns/a"},
			{Host: "b.com", Certificate: "ns/missing"},
			{Host: "c.com"},
		},
		Certificates: map[string]*routecfg.Certificate{"ns/a": {Ref: "ns/a", Cert: cert}},
	}
	m.SetCertificates(cfg)
	// A second apply without a.com must drop its series.
	m.SetCertificates(&routecfg.Config{
		VirtualHosts: []*routecfg.VirtualHost{{Host: "d.com", Certificate: "ns/a"}},
		Certificates: cfg.Certificates,
	})
	got := strings.Join(gather(t, reg), "\n")
	for _, want := range []string{
		"nginx_ingress_controller_errors{controller_class=moat.dev/ingress-controller,controller_namespace=,controller_pod=} 1",
		"nginx_ingress_controller_success{controller_class=moat.dev/ingress-controller,controller_namespace=,controller_pod=} 1",
		"nginx_ingress_controller_config_last_reload_successful{controller_class=moat.dev/ingress-controller,controller_namespace=,controller_pod=} 1",
		"nginx_ingress_controller_config_last_reload_successful_timestamp_seconds{controller_class=moat.dev/ingress-controller,controller_namespace=,controller_pod=} 1700000000",
		"nginx_ingress_controller_config_hash{controller_class=moat.dev/ingress-controller,controller_namespace=,controller_pod=} 1",
		"nginx_ingress_controller_ssl_expire_time_seconds{class=moat.dev/ingress-controller,host=d.com,identifier=-4242,namespace=ns,secret_name=a} 1800000000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "host=a.com") || strings.Contains(got, "b.com") || strings.Contains(got, "c.com") {
		t.Errorf("stale or bogus certificate series:\n%s", got)
	}
}

// TestConnState: connections move between reading, writing and waiting
// and leave active when closed or hijacked.
func TestConnState(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	a, b := &net.TCPConn{}, &net.TCPConn{}
	m.ConnState(a, http.StateNew)
	m.ConnState(b, http.StateNew)
	m.ConnState(a, http.StateActive)
	m.ConnState(a, http.StateIdle)
	m.ConnState(b, http.StateActive)
	got := strings.Join(gather(t, reg), "\n")
	for _, want := range []string{
		`nginx_ingress_controller_nginx_process_connections{controller_class=,controller_namespace=,controller_pod=,state=active} 2`,
		`nginx_ingress_controller_nginx_process_connections{controller_class=,controller_namespace=,controller_pod=,state=waiting} 1`,
		`nginx_ingress_controller_nginx_process_connections{controller_class=,controller_namespace=,controller_pod=,state=writing} 1`,
		`nginx_ingress_controller_nginx_process_connections{controller_class=,controller_namespace=,controller_pod=,state=reading} 0`,
		`nginx_ingress_controller_nginx_process_connections_total{controller_class=,controller_namespace=,controller_pod=,state=accepted} 2`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	m.ConnState(a, http.StateClosed)
	m.ConnState(b, http.StateHijacked)
	got = strings.Join(gather(t, reg), "\n")
	for _, st := range []string{"active", "reading", "writing", "waiting"} {
		if want := `nginx_process_connections{controller_class=,controller_namespace=,controller_pod=,state=` + st + `} 0`; !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
