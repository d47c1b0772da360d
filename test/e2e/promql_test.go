package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
	"sigs.k8s.io/yaml"
)

// exprFile is one testdata/promql file: the PromQL of a dashboard, of
// alert rules or of Flagger's provider, copied from the source it names.
type exprFile struct {
	Source string `json:"source"`
	// Scrape is how Prometheus scraped the controller where the source
	// expects it: "servicemonitor" (prometheus-operator: target labels
	// namespace, pod, job...; the metric's own namespace becomes
	// exported_namespace) or "annotations" (prometheus.io/scrape pod
	// annotations, as Flagger's setup: kubernetes_namespace,
	// kubernetes_pod_name).
	Scrape    string     `json:"scrape"`
	Variables []variable `json:"variables"`
	Exprs     []exprCase `json:"exprs"`
}

type variable struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

type exprCase struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
	// Condition: an alert or a "failed" count, empty while all is well;
	// what it compares must return data instead (and the whole when the
	// test provokes it: Fires).
	Condition bool `json:"condition"`
	Fires     bool `json:"fires"`
	// AllOnly: returns data with the "All" value of the variables only,
	// in ingress-nginx too (the reason is in the file).
	AllOnly bool `json:"all_only"`
}

// TestPromQL runs moat with a TLS host, a canary, a broken backend and
// stray requests, scrapes /metrics five times into a real Prometheus TSDB
// and evaluates with the real PromQL engine every expression of
// ingress-nginx's Grafana dashboards (panels and template variables), of
// the alert rules written for it, of Flagger's nginx queries and of
// moat's own dashboard and alerts in deploy/monitoring: each returns data.
func TestPromQL(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "ingress-nginx")
	t.Setenv("POD_NAME", "moat-controller-0")
	dir := t.TempDir()
	ca := newCA(t)
	web := startEcho(t, "127.0.0.1:0", "web")
	v2 := startEcho(t, "127.0.0.1:0", "web-v2")
	dead := closedAddr(t)
	writeFile(t, dir, "m.yaml", join(
		service("shop", "web", web), service("shop", "web-v2", v2), service("shop", "down", dead), service("shop", "down-v2", closedAddr(t)),
		ca.secret(t, "shop", "web-cert", "shop.example"),
		ingress("shop", "web", "shop.example", "web-cert", "/", "web", "/down", "down"),
		strings.Replace(ingress("shop", "admin", "shop.example", "", "/admin", "web"), "metadata: {name: admin, namespace: shop}",
			"metadata:\n  name: admin\n  namespace: shop\n  annotations:\n    nginx.ingress.kubernetes.io/whitelist-source-range: 10.0.0.0/8", 1),
		strings.Replace(ingress("shop", "web-canary", "shop.example", "", "/", "web-v2", "/down", "down-v2"), "metadata: {name: web-canary, namespace: shop}",
			"metadata:\n  name: web-canary\n  namespace: shop\n  annotations:\n    nginx.ingress.kubernetes.io/canary: \"true\"\n    nginx.ingress.kubernetes.io/canary-by-header: X-Canary", 1)))
	m := startMoat(t, dir, nil)
	c, insecure := m.client(ca.pool, false), m.client(nil, false)

	defer func() {
		if t.Failed() {
			_, b := adminGet(t, m, "/metrics")
			t.Logf("%s", grepLines(b, "nginx_ingress_controller_requests{"))
		}
	}()
	stores := map[string]storage.Storage{"servicemonitor": teststorage.New(t), "annotations": teststorage.New(t)}
	const scrapes, step = 5, 15 * time.Second
	end := time.Now().Truncate(time.Second)
	series := 0
	for i := range scrapes {
		sendTraffic(t, c, insecure)
		_, body := adminGet(t, m, "/metrics")
		// Every round sends new random paths and Hosts: the series stay
		// those of the first round.
		n := strings.Count(body, "\nnginx_ingress_controller_requests{")
		if i == 0 {
			series = n
		} else if n != series {
			t.Errorf("round %d: %d request series, round 1 had %d: random paths or Hosts added series", i+1, n, series)
		}
		ts := end.Add(-time.Duration(scrapes-1-i) * step)
		for style, st := range stores {
			appendScrape(t, st, body, style, m.addrs.Admin, ts)
		}
	}

	// The canary's requests and failures name its Service in the access
	// log, the error log and moat_upstream_connect_errors_total.
	logs := m.logs.String()
	for _, want := range []string{`"path":"/cart","status":200,`, `"service":"shop/web-v2"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if !regexp.MustCompile(`"msg":"upstream error",[^\n]*"service":"shop/down-v2"`).MatchString(logs) {
		t.Error("no upstream error naming the canary's Service shop/down-v2")
	}
	if _, b := adminGet(t, m, "/metrics"); !strings.Contains(b, `moat_upstream_connect_errors_total{service="shop/down-v2"}`) {
		t.Error("no connect errors counted for the canary's Service")
	}

	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	ev := &evaluator{t: t, eng: eng, at: end}
	files, err := filepath.Glob("testdata/promql/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata/promql: %v %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ef exprFile
		if err := yaml.UnmarshalStrict(raw, &ef); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) { ev.file(t, stores[ef.Scrape], &ef) })
	}
	t.Run("deploy/monitoring/dashboard.json", func(t *testing.T) {
		ev.file(t, stores["servicemonitor"], grafanaExprs(t, "../../deploy/monitoring/dashboard.json"))
	})
	t.Run("deploy/monitoring/alerts.yaml", func(t *testing.T) {
		ev.file(t, stores["servicemonitor"], ruleExprs(t, "../../deploy/monitoring/alerts.yaml"))
	})
}

// sendTraffic sends one round: the main Service and its canary over
// HTTPS, requests to a backend that refuses connections (502, one of them
// through the canary), one refused by an allow-list (403), and requests
// for random paths and Hosts, which must add no series.
func sendTraffic(t *testing.T, c, insecure *http.Client) {
	t.Helper()
	for range 6 {
		if r := get(t, c, "https://shop.example/"); r.status != 200 || r.echo.Name != "web" {
			t.Fatalf("main: %d %q", r.status, r.echo.Name)
		}
	}
	for i := range 4 {
		path, want := "/cart", 200
		if i == 3 {
			path, want = "/down", http.StatusBadGateway
		}
		req, _ := http.NewRequest(http.MethodGet, "https://shop.example"+path, nil)
		req.Header.Set("X-Canary", "always")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("canary %s: %d", path, res.StatusCode)
		}
	}
	if r := get(t, c, "https://shop.example/admin"); r.status != http.StatusForbidden {
		t.Fatalf("/admin: %d", r.status)
	}
	if r := get(t, c, "https://shop.example/down"); r.status != http.StatusBadGateway {
		t.Fatalf("/down: %d", r.status)
	}
	get(t, c, "https://shop.example/random/"+rand.Text())
	if r := get(t, insecure, "https://"+strings.ToLower(rand.Text())+".example/"); r.status != 404 {
		t.Fatalf("unknown host: %d", r.status)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// appendScrape adds one scrape of the text exposition body at ts, with
// the target labels the scrape style gives (a label the metric has too is
// kept as exported_<name>, as Prometheus does without honor_labels).
func appendScrape(t *testing.T, st storage.Storage, body, style, instance string, ts time.Time) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	target := map[string]string{"instance": instance}
	switch style {
	case "servicemonitor":
		target["job"] = "ingress-nginx-controller-metrics"
		target["namespace"] = "ingress-nginx"
		target["pod"] = "moat-controller-0"
		target["service"] = "ingress-nginx-controller-metrics"
		target["endpoint"] = "metrics"
		target["container"] = "controller"
	case "annotations":
		target["job"] = "kubernetes-pods"
		target["kubernetes_namespace"] = "ingress-nginx"
		target["kubernetes_pod_name"] = "moat-controller-0"
	default:
		t.Fatalf("unknown scrape style %q", style)
	}
	app := st.Appender(context.Background())
	ms := ts.UnixMilli()
	add := func(name string, lp []*dto.LabelPair, extra map[string]string, v float64) {
		l := map[string]string{}
		for _, p := range lp {
			l[p.GetName()] = p.GetValue()
		}
		for k, v := range extra {
			l[k] = v
		}
		for k, v := range target {
			if old, ok := l[k]; ok {
				l["exported_"+k] = old
			}
			l[k] = v
		}
		l["__name__"] = name
		if _, err := app.Append(0, labels.FromMap(l), ms, v); err != nil {
			t.Fatalf("append %s: %v", name, err)
		}
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m.GetLabel(), nil, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m.GetLabel(), nil, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m.GetLabel(), nil, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", m.GetLabel(), map[string]string{"le": fmt.Sprint(b.GetUpperBound())}, float64(b.GetCumulativeCount()))
				}
				add(name+"_bucket", m.GetLabel(), map[string]string{"le": "+Inf"}, float64(h.GetSampleCount()))
				add(name+"_sum", m.GetLabel(), nil, h.GetSampleSum())
				add(name+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m.GetLabel(), map[string]string{"quantile": fmt.Sprint(q.GetQuantile())}, q.GetValue())
				}
				add(name+"_sum", m.GetLabel(), nil, s.GetSampleSum())
				add(name+"_count", m.GetLabel(), nil, float64(s.GetSampleCount()))
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

type evaluator struct {
	t   *testing.T
	eng *promql.Engine
	at  time.Time
}

// preferred are the values a user would pick in the dashboards'
// drop-downs: the controller, and the Ingress with the canary.
var preferred = map[string]string{"namespace": "ingress-nginx", "controller": "moat-controller-0",
	"exported_namespace": "shop", "ingress": "web"}

// flaggerModel is Flagger's MetricTemplateModel for the canary above.
var flaggerModel = strings.NewReplacer("{{ namespace }}", "shop", "{{ ingress }}", "web", "{{ interval }}", "1m")

// file evaluates every expression of ef: once with each template
// variable at "All" (.*), once with the values its query returned (the
// preferred one, else the first).
func (ev *evaluator) file(t *testing.T, st storage.Storage, ef *exprFile) {
	if st == nil {
		t.Fatalf("%s: no scrape style %q", ef.Source, ef.Scrape)
	}
	all := map[string]string{}
	chosen := map[string]string{}
	for _, v := range ef.Variables {
		vals := ev.labelValues(t, st, substitute(v.Query, chosen))
		if len(vals) == 0 {
			t.Errorf("%s: variable %s: %s returns no values", ef.Source, v.Name, substitute(v.Query, chosen))
			continue
		}
		chosen[v.Name] = vals[0]
		for _, x := range vals {
			if x == preferred[v.Name] {
				chosen[v.Name] = x
			}
		}
		all[v.Name] = ".*"
	}
	if len(ef.Exprs) == 0 {
		t.Fatalf("%s: no expressions", ef.Source)
	}
	for _, e := range ef.Exprs {
		for pass, vars := range []map[string]string{all, chosen} {
			if pass == 1 && (len(ef.Variables) == 0 || e.AllOnly) {
				break
			}
			q := flaggerModel.Replace(substitute(e.Expr, vars))
			if e.Condition {
				if e.Fires && !ev.hasData(t, st, q) {
					t.Errorf("%s: %s: %s does not fire", ef.Source, e.Name, q)
				}
				q = unthreshold(t, q)
			}
			if !ev.hasData(t, st, q) {
				t.Errorf("%s: %q returns no data:\n%s", ef.Source, e.Name, q)
			}
		}
	}
}

// substitute replaces Grafana's $name, ${name} and [[name]].
func substitute(s string, vars map[string]string) string {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	// Longest first: $namespace must not eat $namespace_x.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, k := range names {
		s = strings.NewReplacer("${"+k+"}", vars[k], "[["+k+"]]", vars[k], "$"+k, vars[k]).Replace(s)
	}
	return s
}

var labelValuesRe = regexp.MustCompile(`^label_values\((?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// labelValues evaluates Grafana's label_values(selector, label).
func (ev *evaluator) labelValues(t *testing.T, st storage.Storage, q string) []string {
	m := labelValuesRe.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		t.Fatalf("not a label_values query: %s", q)
	}
	sel := m[1]
	if sel == "" {
		sel = `{` + m[2] + `!=""}`
	}
	vec := ev.vector(t, st, sel)
	seen := map[string]bool{}
	var out []string
	for _, s := range vec {
		if v := s.Metric.Get(m[2]); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func (ev *evaluator) vector(t *testing.T, st storage.Storage, q string) promql.Vector {
	t.Helper()
	qry, err := ev.eng.NewInstantQuery(context.Background(), st, nil, q, ev.at)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", q, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v
	case promql.Scalar:
		return promql.Vector{{F: v.V}}
	}
	t.Fatalf("%s: unexpected result type %T", q, res.Value)
	return nil
}

// hasData reports whether q returns a sample that is a number.
func (ev *evaluator) hasData(t *testing.T, st storage.Storage, q string) bool {
	for _, s := range ev.vector(t, st, q) {
		if !math.IsNaN(s.F) {
			return true
		}
	}
	return false
}

// unthreshold drops the comparisons with a number of a condition
// ("x > 5", "count(y == 0)"), leaving what they compare.
func unthreshold(t *testing.T, q string) string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strip(e).String()
}

func strip(e parser.Expr) parser.Expr {
	switch n := e.(type) {
	case *parser.ParenExpr:
		n.Expr = strip(n.Expr)
	case *parser.AggregateExpr:
		n.Expr = strip(n.Expr)
	case *parser.Call:
		for i := range n.Args {
			n.Args[i] = strip(n.Args[i])
		}
	case *parser.BinaryExpr:
		if n.Op.IsComparisonOperator() && !n.ReturnBool {
			if isNumber(n.RHS) {
				return strip(n.LHS)
			}
			if isNumber(n.LHS) {
				return strip(n.RHS)
			}
		}
		n.LHS, n.RHS = strip(n.LHS), strip(n.RHS)
	}
	return e
}

func isNumber(e parser.Expr) bool {
	for {
		switch n := e.(type) {
		case *parser.NumberLiteral:
			return true
		case *parser.ParenExpr:
			e = n.Expr
		default:
			return false
		}
	}
}

// grafanaExprs reads a Grafana dashboard's variables and panel queries.
func grafanaExprs(t *testing.T, path string) *exprFile {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []grafanaPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ef := &exprFile{Source: path, Scrape: "servicemonitor"}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		ef.Variables = append(ef.Variables, variable{Name: v.Name, Query: q})
	}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				ef.Exprs = append(ef.Exprs, exprCase{Name: p.Title, Expr: tg.Expr,
					// A "failed" stat is empty while all is well.
					Condition: strings.Contains(p.Title, "failed")})
			}
		}
	}
	walk(d.Panels)
	return ef
}

type grafanaPanel struct {
	Title   string         `json:"title"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// ruleExprs reads Prometheus alerting rules (groups:), every one a
// condition; those this test provokes (a 5xx rate over 5%, a certificate
// expiring within days, connections refused) must fire.
func ruleExprs(t *testing.T, path string) *exprFile {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `json:"alert"`
				Expr   string            `json:"expr"`
				Labels map[string]string `json:"labels"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ef := &exprFile{Source: path, Scrape: "servicemonitor"}
	fires := map[string]bool{"MoatHighHTTP5xxRate": true, "MoatCanaryHigh5xxRate": true, "MoatCertificateExpiringSoon": true, "MoatUpstreamConnectErrors": true}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			ef.Exprs = append(ef.Exprs, exprCase{Name: r.Alert, Expr: r.Expr, Condition: true, Fires: fires[r.Alert]})
		}
	}
	return ef
}
