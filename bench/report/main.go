// Command report summarises a bench/run.sh run: it reads the raw results
// (one "round, target, load, metric, value" line per measurement) and the
// run's settings, prints medians and ratios as a table per cell of the
// matrix (a load recorded as "wrk50@shared-rsa" belongs to cell
// shared-rsa) and a summary of the ratios to nginx across cells, and
// writes everything as JSON.
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

// cells lists the run's cells in the order run.sh ran them (its "cells"
// setting), else as found in the loads; [""] for a run without cells.
func cells(r *Report) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range strings.Fields(r.Meta["cells"]) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, s := range r.Raw {
		if _, c, ok := strings.Cut(s.Load, "@"); ok && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// inCell is load's key in cell ("" for a run without cells).
func inCell(load, cell string) string {
	if cell == "" {
		return load
	}
	return load + "@" + cell
}

var cellNames = map[string]string{
	"alone-ecdsa":  "proxy alone on its core, ECDSA P-256 certificate",
	"alone-rsa":    "proxy alone on its core, RSA-2048 certificate",
	"shared-ecdsa": "proxy sharing its core with the backends, ECDSA P-256 certificate",
	"shared-rsa":   "proxy sharing its core with the backends, RSA-2048 certificate",
}

func printTable(w io.Writer, r *Report) {
	m := r.Meta
	fmt.Fprintf(w, "moat vs nginx vs HAProxy — %s, commit %s\n", m["date"], m["commit"])
	if b := m["base_commit"]; b != "" {
		fmt.Fprintf(w, "moat-base: commit %s\n", b)
	}
	fmt.Fprintf(w, "%s CPU(s), %s, %s; proxy on CPU %s, load generator on CPU %s, backend on CPU %s\n",
		m["nproc"], m["cpu"], m["kernel"], m["proxy_cpus"], m["load_cpus"], m["backend_cpus"])
	if p := m["placement"]; p != "" {
		fmt.Fprintf(w, "placement: %s\n", p)
	}
	fmt.Fprintf(w, "%s rounds × %s s per load, medians; load average before %s, after %s\n",
		m["rounds"], m["duration_s"], m["loadavg_before"], m["loadavg_after"])
	cs := cells(r)
	for _, cell := range cs {
		if cell != "" {
			la := ""
			if st, ok := r.Medians["machine"][inCell("all", cell)]["loadavg1"]; ok {
				la = fmt.Sprintf(" (1-min load average at its start: %s)", joinVals(st.Values))
			}
			fmt.Fprintf(w, "\n== %s: %s%s\n", cell, cellNames[cell], la)
		}
		fmt.Fprintln(w)
		printCell(w, r, cell)
	}
	if len(cs) > 1 || cs[0] != "" {
		printSummary(w, r, cs)
	}

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

func joinVals(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(parts, ", ")
}

// summaryRows are the targets, as ratios moat/nginx per cell.
var summaryRows = []row{
	{"HTTPS keep-alive 50 conns req/s (≥ 1)", "wrk50", "rps", ""},
	{"  p99 (≤ 1)", "wrk50", "p99_ms", ""},
	{"HTTPS keep-alive 200 conns req/s (≥ 1)", "wrk200", "rps", ""},
	{"  p99 (≤ 1)", "wrk200", "p99_ms", ""},
	{"HTTP/2 req/s (≥ 1)", "h2", "rps", ""},
	{"New TLS conns/s, full (≥ 1)", "hs_full", "rps", ""},
	{"CPU per request, 50 conns (≤ 1)", "wrk50", "cpu_s_per_100k", ""},
	{"CPU per request, 200 conns (≤ 1)", "wrk200", "cpu_s_per_100k", ""},
	{"CPU per request, HTTP/2 (≤ 1)", "h2", "cpu_s_per_100k", ""},
	{"CPU per full handshake", "hs_full", "cpu_s_per_100k", ""},
	{"Peak RSS (≤ 2)", "all", "rss_peak_mib", ""},
}

// printSummary prints moat's ratios to nginx (and to moat-base, when the
// run has one) for every cell side by side.
func printSummary(w io.Writer, r *Report, cs []string) {
	for _, ref := range []string{"nginx", "moat-base"} {
		if r.Ratios["moat"][ref] == nil {
			continue
		}
		fmt.Fprintf(w, "\n== moat/%s across the matrix (medians' ratios)\n\n", ref)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "\t")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
		for _, rw := range summaryRows {
			fmt.Fprintf(tw, "%s\t", rw.label)
			for _, c := range cs {
				if v, ok := r.Ratios["moat"][ref][inCell(rw.load, c)][rw.metric]; ok {
					fmt.Fprintf(tw, "%.2f×\t", v)
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

func printCell(w io.Writer, r *Report, cell string) {
	// get is the median of target's load in this cell; the direct runs
	// belong to no cell.
	get := func(target, load, metric string) (Stat, bool) {
		if st, ok := r.Medians[target][inCell(load, cell)][metric]; ok {
			return st, true
		}
		if target == "direct" {
			st, ok := r.Medians[target][load][metric]
			return st, ok
		}
		return Stat{}, false
	}
	targets := []string{}
	for _, t := range []string{"moat", "moat-base", "nginx", "haproxy", "direct"} {
		if r.Medians[t] != nil {
			targets = append(targets, t)
		}
	}
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
		has := false
		for _, t := range targets {
			if _, ok := get(t, rw.load, rw.metric); ok && t != "direct" {
				has = true
			}
		}
		if !has {
			continue
		}
		fmt.Fprintf(tw, "%s\t", rw.label)
		for _, t := range targets {
			if st, ok := get(t, rw.load, rw.metric); ok {
				fmt.Fprintf(tw, rw.format+"\t", st.Median)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		if hasNginx {
			fmt.Fprint(tw, ratioCell(r, "nginx", rw, cell)+"\t")
		}
		if hasHAProxy {
			fmt.Fprint(tw, ratioCell(r, "haproxy", rw, cell)+"\t")
		}
		if hasBase {
			fmt.Fprint(tw, ratioCell(r, "moat-base", rw, cell)+"\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func ratioCell(r *Report, ref string, rw row, cell string) string {
	v, ok := r.Ratios["moat"][ref][inCell(rw.load, cell)][rw.metric]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}
