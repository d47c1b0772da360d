package metrics

import (
	"crypto/tls"
	"crypto/x509"
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
	m := New(reg)
	vh := &routecfg.VirtualHost{Host: "foo.com"}
	rt := &routecfg.Route{Path: "/", Source: routecfg.Source{Namespace: "ns", Ingress: "web", Service: "svc"}}
	vh.Routes = []*routecfg.Route{rt}

	m.ObserveRequest(vh, rt, 200, 10*time.Millisecond)
	m.ObserveRequest(vh, rt, 200, 10*time.Millisecond)
	m.ObserveRequest(vh, rt, 502, time.Millisecond)
	m.ObserveRequest(vh, nil, 404, time.Millisecond)
	m.ObserveRequest(nil, nil, 404, time.Millisecond)
	m.UpstreamConnectError(vh, rt)

	got := strings.Join(gather(t, reg), "\n")
	for _, want := range []string{
		"moat_requests_total{code=200,host=foo.com,ingress=ns/web,service=ns/svc} 2",
		"moat_requests_total{code=502,host=foo.com,ingress=ns/web,service=ns/svc} 1",
		"moat_requests_total{code=404,host=foo.com,ingress=,service=} 1",
		"moat_requests_total{code=404,host=_,ingress=,service=} 1",
		"moat_request_duration_seconds{host=foo.com,ingress=ns/web,service=ns/svc} count=3",
		"moat_upstream_connect_errors_total{service=ns/svc} 1",
		"moat_config_applies_total{result=success} 0",
		"moat_config_applies_total{result=failure} 0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestPruneDropsOldRoutes(t *testing.T) {
	m := New(prometheus.NewRegistry())
	old := &routecfg.Route{Path: "/"}
	kept := &routecfg.Route{Path: "/k"}
	vh := &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{kept}}
	m.ObserveRequest(vh, old, 200, 0)
	m.ObserveRequest(vh, kept, 200, 0)
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
	m.ObserveRequest(nil, nil, 200, 0)
	m.UpstreamConnectError(nil, &routecfg.Route{})
	m.ConfigApplied(true, time.Now())
	m.SetCertificates(&routecfg.Config{})
	m.Prune(&routecfg.Config{})
}

func TestConfigAndCertificates(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.ConfigApplied(false, time.Unix(1, 0))
	m.ConfigApplied(true, time.Unix(1700000000, 0))

	notAfter := time.Unix(1800000000, 0)
	cert := &tls.Certificate{Leaf: &x509.Certificate{NotAfter: notAfter}}
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
		"moat_config_applies_total{result=failure} 1",
		"moat_config_applies_total{result=success} 1",
		"moat_config_last_apply_timestamp_seconds{} 1700000000",
		"moat_certificate_expiry_timestamp_seconds{host=d.com,secret=ns/a} 1800000000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "host=a.com") || strings.Contains(got, "b.com") || strings.Contains(got, "c.com") {
		t.Errorf("stale or bogus certificate series:\n%s", got)
	}
}
