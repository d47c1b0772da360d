// Command report summarises a bench/run.sh run: it reads the raw results
// (one "round, target, load, metric, value" line per measurement) and the
// run's settings, prints medians and ratios as a table, and writes
// everything as JSON.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Sample is one measurement of one round.
type Sample struct {
	Round  int     `json:"round"`
	Target string  `json:"target"`
	Load   string  `json:"load"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

// Stat is the median of a metric over the rounds, with its spread.
type Stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// Report is the JSON written next to the table.
type Report struct {
	Meta map[string]string `json:"meta"`
	// Medians[target][load][metric].
	Medians map[string]map[string]map[string]Stat `json:"medians"`
	// Ratios[proxy][reference][load][metric] = proxy median / reference
	// median, for throughput and latency metrics.
	Ratios map[string]map[string]map[string]map[string]float64 `json:"ratios"`
	Raw    []Sample                                            `json:"raw"`
}

func main() {
	raw := flag.String("raw", "", "raw results (TSV: round, target, load, metric, value)")
	meta := flag.String("meta", "", "run settings (key=value lines)")
	out := flag.String("json", "", "write the report as JSON to this file")
	flag.Parse()
	if *raw == "" {
		fmt.Fprintln(os.Stderr, "report: -raw is required")
		os.Exit(2)
	}
	samples, err := readRaw(*raw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	r := Report{Meta: map[string]string{}, Raw: samples}
	if *meta != "" {
		if r.Meta, err = readMeta(*meta); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	r.Medians = medians(samples)
	r.Ratios = ratios(r.Medians)
	printTable(os.Stdout, &r)
	if *out != "" {
		b, err := json.MarshalIndent(&r, "", "  ")
		if err == nil {
			err = os.WriteFile(*out, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
}

func readRaw(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated fields, got %d", path, n, len(fs))
		}
		round, err := strconv.Atoi(fs[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: round: %v", path, n, err)
		}
		v, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			// A tool printed nothing parseable (for example no latency line):
			// keep the row visible as NaN rather than failing the report.
			v = math.NaN()
		}
		out = append(out, Sample{Round: round, Target: fs[1], Load: fs[2], Metric: fs[3], Value: v})
	}
	return out, sc.Err()
}

func readMeta(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), "=")
		if ok {
			m[k] = v
		}
	}
	return m, nil
}

func medians(samples []Sample) map[string]map[string]map[string]Stat {
	vals := map[[3]string][]float64{}
	for _, s := range samples {
		k := [3]string{s.Target, s.Load, s.Metric}
		vals[k] = append(vals[k], s.Value)
	}
	out := map[string]map[string]map[string]Stat{}
	for k, vs := range vals {
		if out[k[0]] == nil {
			out[k[0]] = map[string]map[string]Stat{}
		}
		if out[k[0]][k[1]] == nil {
			out[k[0]][k[1]] = map[string]Stat{}
		}
		out[k[0]][k[1]][k[2]] = stat(vs)
	}
	return out
}

func stat(vs []float64) Stat {
	s := slices.Clone(vs)
	slices.Sort(s)
	st := Stat{Values: vs, Min: s[0], Max: s[len(s)-1]}
	if n := len(s); n%2 == 1 {
		st.Median = s[n/2]
	} else {
		st.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return st
}

var ratioMetrics = []string{"rps", "p50_ms", "p99_ms", "mean_ms", "cpu_s_per_100k", "rss_peak_mib"}

func ratios(m map[string]map[string]map[string]Stat) map[string]map[string]map[string]map[string]float64 {
	out := map[string]map[string]map[string]map[string]float64{}
	for _, proxy := range []string{"moat", "moat-base", "nginx", "haproxy"} {
		for _, ref := range []string{"nginx", "haproxy", "moat-base"} {
			if proxy == ref || m[proxy] == nil || m[ref] == nil {
				continue
			}
			for load, metrics := range m[proxy] {
				for _, metric := range ratioMetrics {
					a, ok1 := metrics[metric]
					b, ok2 := m[ref][load][metric]
					if !ok1 || !ok2 || b.Median == 0 {
						continue
					}
					if out[proxy] == nil {
						out[proxy] = map[string]map[string]map[string]float64{}
					}
					if out[proxy][ref] == nil {
						out[proxy][ref] = map[string]map[string]float64{}
					}
					if out[proxy][ref][load] == nil {
						out[proxy][ref][load] = map[string]float64{}
					}
					out[proxy][ref][load][metric] = round3(a.Median / b.Median)
				}
			}
		}
	}
	return out
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// row is one line of the table: a label, the load and metric it shows.
type row struct {
	label, load, metric, format string
}

var rows = []row{
	{"HTTPS keep-alive, 50 conns: req/s", "wrk50", "rps", "%.0f"},
	{"  p50 ms", "wrk50", "p50_ms", "%.2f"},
	{"  p99 ms", "wrk50", "p99_ms", "%.2f"},
	{"HTTPS keep-alive, 200 conns: req/s", "wrk200", "rps", "%.0f"},
	{"  p50 ms", "wrk200", "p50_ms", "%.2f"},
	{"  p99 ms", "wrk200", "p99_ms", "%.2f"},
	{"HTTP/2 (h2load): req/s", "h2", "rps", "%.0f"},
	{"New TLS conns/s, full handshake", "hs_full", "rps", "%.0f"},
	{"New TLS conns/s, resumed", "hs_resumed", "rps", "%.0f"},
	{"moat echo backend, 50 conns: req/s", "echo50", "rps", "%.0f"},
	{"Access log on, 50 conns: req/s", "log50", "rps", "%.0f"},
	{"CPU-s per 100k req (50 conns)", "wrk50", "cpu_s_per_100k", "%.2f"},
	{"CPU-s per 100k req (200 conns)", "wrk200", "cpu_s_per_100k", "%.2f"},
	{"CPU-s per 100k req (HTTP/2)", "h2", "cpu_s_per_100k", "%.2f"},
	{"CPU-s per 100k full handshakes", "hs_full", "cpu_s_per_100k", "%.1f"},
	{"CPU-s per 100k resumed handshakes", "hs_resumed", "cpu_s_per_100k", "%.1f"},
	{"CPU-s per 100k req (access log on)", "log50", "cpu_s_per_100k", "%.2f"},
	{"Proxy CPU use, 50 conns (cores)", "wrk50", "cpu_util", "%.2f"},
	{"Peak RSS MiB", "all", "rss_peak_mib", "%.1f"},
}

func printTable(w io.Writer, r *Report) {
	targets := []string{}
	for _, t := range []string{"moat", "moat-base", "nginx", "haproxy", "direct"} {
		if r.Medians[t] != nil {
			targets = append(targets, t)
		}
	}
	m := r.Meta
	fmt.Fprintf(w, "moat vs nginx vs HAProxy — %s, commit %s\n", m["date"], m["commit"])
	if b := m["base_commit"]; b != "" {
		fmt.Fprintf(w, "moat-base: commit %s\n", b)
	}
	fmt.Fprintf(w, "%s CPU(s), %s, %s; proxy on CPU %s, load generator on CPU %s, backend on CPU %s\n",
		m["nproc"], m["cpu"], m["kernel"], m["proxy_cpus"], m["load_cpus"], m["backend_cpus"])
	fmt.Fprintf(w, "%s rounds × %s s per load, medians; load average before %s, after %s\n\n",
		m["rounds"], m["duration_s"], m["loadavg_before"], m["loadavg_after"])

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t", t)
	}
	hasNginx, hasHAProxy := r.Medians["nginx"] != nil, r.Medians["haproxy"] != nil
	hasBase := r.Medians["moat-base"] != nil
	if hasNginx {
		fmt.Fprint(tw, "moat/nginx\t")
	}
	if hasHAProxy {
		fmt.Fprint(tw, "moat/haproxy\t")
	}
	if hasBase {
		fmt.Fprint(tw, "moat/moat-base\t")
	}
	fmt.Fprintln(tw)
	for _, rw := range rows {
		fmt.Fprintf(tw, "%s\t", rw.label)
		for _, t := range targets {
			if st, ok := r.Medians[t][rw.load][rw.metric]; ok {
				fmt.Fprintf(tw, rw.format+"\t", st.Median)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		if hasNginx {
			fmt.Fprint(tw, ratioCell(r, "nginx", rw)+"\t")
		}
		if hasHAProxy {
			fmt.Fprint(tw, ratioCell(r, "haproxy", rw)+"\t")
		}
		if hasBase {
			fmt.Fprint(tw, ratioCell(r, "moat-base", rw)+"\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	// Errors are rare but must not hide in the JSON.
	var bad []string
	for _, s := range r.Raw {
		if (s.Metric == "non2xx" || s.Metric == "socket_errors" || s.Metric == "failed") && s.Value > 0 {
			bad = append(bad, fmt.Sprintf("round %d %s %s: %s %.0f", s.Round, s.Target, s.Load, s.Metric, s.Value))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(w, "\nerrors during the loads:")
		for _, b := range bad {
			fmt.Fprintln(w, "  "+b)
		}
	}
}

func ratioCell(r *Report, ref string, rw row) string {
	v, ok := r.Ratios["moat"][ref][rw.load][rw.metric]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}
