// Command scale measures moat in file mode at scale: it generates N
// Ingresses (each with its own host, Service and EndpointSlice) and up to
// -certs TLS Secrets, starts `moat serve` on them, and reports the time to
// ready (/readyz), the memory used, and the delay from a file change to the
// change serving, for a route change (a host renamed), a route added and
// an endpoint-only change, as seen by a client polling over loopback.
// With -kinds ingress,httproute it then runs the same scenario with N
// HTTPRoutes attached to -gateways Gateways and prints the HTTPRoute /
// Ingress ratios of the p99s.
//
// Usage: go run ./bench/scale -moat ./moat [-sizes 1000,10000] [-kinds ingress,httproute] [-certs 5000] [-changes 100]
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	moat       string
	sizes      []int
	certs      int
	changes    int
	perFile    int
	poll       time.Duration
	changeWait time.Duration
	readyWait  time.Duration
	out        string
	keep       bool
	profile    string
	tls        bool
	kinds      []string
	gateways   int
	maxTime    time.Duration
	// ingressGW gives the Ingress run the Gateways too, without routes.
	ingressGW bool
}

const (
	kindIngress   = "Ingress"
	kindHTTPRoute = "HTTPRoute"
)

// Result is one size's measurements for one kind of route.
type Result struct {
	// Kind is Ingress or HTTPRoute: Routes objects of that kind.
	Kind   string `json:"kind"`
	Routes int    `json:"routes"`
	// Gateways the HTTPRoutes attach to (round robin).
	Gateways     int     `json:"gateways,omitempty"`
	Certificates int     `json:"certificates"`
	Files        int     `json:"files"`
	ManifestMiB  float64 `json:"manifest_mib"`
	// ReadyS is the time from exec to /readyz answering 200.
	ReadyS float64 `json:"ready_s"`
	// FirstRouteS is the time from exec to the first proxied 200.
	FirstRouteS float64 `json:"first_route_s"`
	RSSReadyMiB float64 `json:"rss_ready_mib"`
	RSSPeakMiB  float64 `json:"rss_peak_mib"`
	// Change renames the probe route's host (an update); Add writes a
	// new route with a new host in a new file.
	Change Delays `json:"change"`
	Add    Delays `json:"add"`
	// TLSChange is an Ingress change to a host with spec.tls, checked
	// over HTTPS with the certificate verified (omitted by -tls=false).
	TLSChange    *Delays `json:"tls_ingress_change,omitempty"`
	EndpointOnly Delays  `json:"endpoint_change"`
}

// Delays summarises change-to-serving delays in milliseconds.
type Delays struct {
	N        int       `json:"n"`
	Failed   int       `json:"failed"`
	P50ms    float64   `json:"p50_ms"`
	P99ms    float64   `json:"p99_ms"`
	MaxMs    float64   `json:"max_ms"`
	CPUPerMs float64   `json:"moat_cpu_ms_per_change"`
	Samples  []float64 `json:"samples_ms"`
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.moat, "moat", "", "path to the moat binary (required)")
	flag.StringVar(&sizes, "sizes", "1000,10000", "comma-separated Ingress counts")
	flag.IntVar(&o.certs, "certs", 5000, "TLS Secrets: the first min(N, certs) Ingresses each get their own certificate")
	flag.IntVar(&o.changes, "changes", 100, "changes of each kind to time")
	flag.IntVar(&o.perFile, "per-file", 100, "Ingresses (with their Services and EndpointSlices) per manifest file")
	flag.DurationVar(&o.poll, "poll", 2*time.Millisecond, "client polling interval")
	flag.DurationVar(&o.changeWait, "change-timeout", 20*time.Second, "give up on one change after this long")
	flag.DurationVar(&o.readyWait, "ready-timeout", 120*time.Second, "give up on start after this long")
	flag.StringVar(&o.out, "json", "", "write results as JSON to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the generated manifests")
	flag.BoolVar(&o.tls, "tls", true, "also time changes to an Ingress with spec.tls, checked over HTTPS")
	var kinds string
	flag.StringVar(&kinds, "kinds", "ingress,httproute", "route kinds to run at each size: ingress, httproute")
	flag.IntVar(&o.gateways, "gateways", 1, "Gateways the HTTPRoutes attach to, round robin")
	flag.BoolVar(&o.ingressGW, "ingress-with-gateway", false, "give the Ingress run the GatewayClass and Gateways too (no routes): a cluster with both APIs")
	flag.DurationVar(&o.maxTime, "max-time", 30*time.Minute, "stop the whole run after this long")
	flag.StringVar(&o.profile, "profile", "", "write moat's CPU profile and the allocations of each Ingress-change phase to this directory (moat needs --profiling)")
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fatal(fmt.Errorf("stopped by %v", s))
	}()
	if o.moat == "" {
		fatal(errors.New("-moat is required (go build -o moat ./cmd/moat)"))
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("-sizes: bad count %q", s))
		}
		o.sizes = append(o.sizes, n)
	}
	for _, k := range strings.Split(kinds, ",") {
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "ingress":
			o.kinds = append(o.kinds, kindIngress)
		case "httproute":
			o.kinds = append(o.kinds, kindHTTPRoute)
		default:
			fatal(fmt.Errorf("-kinds: unknown kind %q (ingress, httproute)", k))
		}
	}
	if o.gateways < 1 {
		fatal(errors.New("-gateways must be at least 1"))
	}
	time.AfterFunc(o.maxTime, func() { fatal(fmt.Errorf("run took longer than -max-time %s", o.maxTime)) })

	// Two loopback backends that answer with their name: every generated
	// EndpointSlice points at a; the endpoint-only change flips the probe
	// Service between a and b.
	a, err := startBackend("a")
	if err != nil {
		fatal(err)
	}
	b, err := startBackend("b")
	if err != nil {
		fatal(err)
	}
	pki, err := newPKI()
	if err != nil {
		fatal(err)
	}

	var results []Result
	for _, n := range o.sizes {
		for _, kind := range o.kinds {
			r, err := runSize(o, kind, n, pki, a, b)
			if err != nil {
				fatal(fmt.Errorf("%d %ss: %w", n, kind, err))
			}
			results = append(results, r)
			printResult(r)
			// Written after each run, so a long run stopped half-way
			// keeps what it measured.
			if o.out != "" {
				writeJSON(o, results)
			}
		}
	}
	printRatios(results)
	if o.out != "" {
		fmt.Printf("results: %s\n", o.out)
	}
}

func writeJSON(o options, results []Result) {
	meta := map[string]any{
		"date":           time.Now().UTC().Format(time.RFC3339),
		"nproc":          runtime.NumCPU(),
		"go":             runtime.Version(),
		"poll":           o.poll.String(),
		"changes":        o.changes,
		"note":           "moat serve defaults: file debounce 10 ms; reconcile passes at once after a quiet spell, trailing hold-off 100 ms; endpoint-only changes skip translate",
		"loadavg_at_end": loadavg(),
	}
	buf, _ := json.MarshalIndent(map[string]any{"meta": meta, "results": results, "ratios": ratios(results)}, "", "  ")
	if err := os.WriteFile(o.out, append(buf, '\n'), 0o644); err != nil {
		fatal(err)
	}
}

// running is the moat process under test, killed on every exit path.
var running struct {
	sync.Mutex
	p *os.Process
}

func setRunning(p *os.Process) {
	running.Lock()
	running.p = p
	running.Unlock()
}

func killRunning() {
	running.Lock()
	defer running.Unlock()
	if running.p != nil {
		_ = running.p.Kill()
		running.p = nil
	}
}

func fatal(err error) {
	killRunning()
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

type backend struct {
	name string
	port int
}

func startBackend(name string) (backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return backend{}, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, name)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(ln)
	return backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}, nil
}

// pki issues one leaf certificate per host from a throwaway CA. All leaves
// share one key: moat parses each Secret's pair all the same.
type pki struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	key    *ecdsa.PrivateKey
	keyPEM []byte
	serial int64
}

func newPKI() (*pki, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "moat scale benchmark CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &pki{ca: ca, caKey: caKey, key: key, keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), serial: 1}, nil
}

func (p *pki) leaf(host string) ([]byte, error) {
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &p.key.PublicKey, p.caKey)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

const serviceTmpl = `apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %[2]d}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, namespace: default, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[2]d}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
---
`

const ingressTmpl = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %[1]s, namespace: default}
spec:
  ingressClassName: moat
%[4]s  rules:
  - host: %[2]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: %[3]s, port: {name: http}}}}]}
---
`

// httpRouteTmpl is the Ingress above as an HTTPRoute: one host, prefix
// /, the Service's port, attached to every listener of its Gateway.
const httpRouteTmpl = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s, namespace: default}
spec:
  parentRefs: [{name: %[4]s}]
  hostnames: [%[2]s]
  rules: [{matches: [{path: {type: PathPrefix, value: /}}], backendRefs: [{name: %[3]s, port: 80}]}]
---
`

// gatewayTmpl has an HTTP listener and an HTTPS one for every
// *.scale.local host with one wildcard certificate: a Gateway listener
// names one certificate, so the HTTPRoute run has no per-host
// certificates.
const gatewayTmpl = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: default}
spec:
  gatewayClassName: moat
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - {name: https, protocol: HTTPS, port: 443, hostname: "*.scale.local", tls: {certificateRefs: [{name: gw-tls}]}}
---
`

const gatewayClassYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
`

// route is the manifest of one route of kind to svc for host.
func route(kind, name, host, svc string, n, gateways int) string {
	if kind == kindHTTPRoute {
		return fmt.Sprintf(httpRouteTmpl, name, host, svc, fmt.Sprintf("gw-%d", n%gateways))
	}
	return fmt.Sprintf(ingressTmpl, name, host, svc, "")
}

const secretTmpl = `apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
---
`

// generate writes n routes of kind, Services and EndpointSlices into dir,
// perFile routes to a file, plus the probe objects the change
// measurements rewrite. Ingresses get min(n, certs) Secrets; HTTPRoutes
// get a GatewayClass, the Gateways and their one wildcard Secret (so do
// Ingresses with withGW). It returns the file count and total bytes.
func generate(dir, kind string, withGW bool, n, certs, gateways, perFile int, p *pki, a backend) (files int, size int64, err error) {
	keyB64 := base64.StdEncoding.EncodeToString(p.keyPEM)
	var sb strings.Builder
	flush := func(name string) error {
		if sb.Len() == 0 {
			return nil
		}
		files++
		size += int64(sb.Len())
		err := os.WriteFile(filepath.Join(dir, name), []byte(sb.String()), 0o644)
		sb.Reset()
		return err
	}
	for i := range n {
		svc := fmt.Sprintf("svc-%d", i)
		host := fmt.Sprintf("host-%d.scale.local", i)
		fmt.Fprintf(&sb, serviceTmpl, svc, a.port)
		if kind == kindHTTPRoute {
			sb.WriteString(route(kind, fmt.Sprintf("route-%d", i), host, svc, i, gateways))
		} else {
			tls := ""
			if i < certs {
				tls = fmt.Sprintf("  tls: [{hosts: [%s], secretName: tls-%d}]\n", host, i)
			}
			fmt.Fprintf(&sb, ingressTmpl, fmt.Sprintf("ing-%d", i), host, svc, tls)
		}
		if (i+1)%perFile == 0 || i == n-1 {
			if err := flush(fmt.Sprintf("objects-%05d.yaml", i/perFile)); err != nil {
				return 0, 0, err
			}
		}
	}
	if kind == kindHTTPRoute || withGW {
		crt, err := p.leaf("*.scale.local")
		if err != nil {
			return 0, 0, err
		}
		sb.WriteString(gatewayClassYAML)
		fmt.Fprintf(&sb, secretTmpl, "gw-tls", base64.StdEncoding.EncodeToString(crt), keyB64)
		for g := range gateways {
			fmt.Fprintf(&sb, gatewayTmpl, fmt.Sprintf("gw-%d", g))
		}
		if err := flush("gateways.yaml"); err != nil {
			return 0, 0, err
		}
	}
	if kind == kindHTTPRoute {
		certs = 0
	}
	m := min(n, certs)
	for i := range m {
		crt, err := p.leaf(fmt.Sprintf("host-%d.scale.local", i))
		if err != nil {
			return 0, 0, err
		}
		fmt.Fprintf(&sb, secretTmpl, fmt.Sprintf("tls-%d", i), base64.StdEncoding.EncodeToString(crt), keyB64)
		if (i+1)%perFile == 0 || i == m-1 {
			if err := flush(fmt.Sprintf("secrets-%05d.yaml", i/perFile)); err != nil {
				return 0, 0, err
			}
		}
	}
	// The probe Service (endpoints flipped by the endpoint-only change)
	// and its Ingress, without TLS so the client polls plain HTTP.
	fmt.Fprintf(&sb, "apiVersion: v1\nkind: Service\nmetadata: {name: probe-svc, namespace: default}\nspec:\n  ports: [{name: http, port: 80}]\n---\n")
	sb.WriteString(route(kind, "probe-ep", "ep.scale.local", "probe-svc", 0, gateways))
	if err := flush("probe.yaml"); err != nil {
		return 0, 0, err
	}
	if err := writeAtomic(dir, "probe-endpoints.yaml", endpointsYAML(a.port)); err != nil {
		return 0, 0, err
	}
	if err := writeAtomic(dir, "probe-route.yaml", probeRouteYAML(kind, 0, gateways)); err != nil {
		return 0, 0, err
	}
	if kind == kindHTTPRoute {
		return files + 2, size, nil
	}
	// The TLS probe's Secret covers every probe-tls-N host; its Ingress
	// (rewritten by the TLS change) names it.
	crt, err := p.leaf("*.tls.scale.local")
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(&sb, secretTmpl, "probe-tls", base64.StdEncoding.EncodeToString(crt), keyB64)
	if err := flush("probe-tls-secret.yaml"); err != nil {
		return 0, 0, err
	}
	if err := writeAtomic(dir, "probe-tls-ingress.yaml", probeTLSIngressYAML(0)); err != nil {
		return 0, 0, err
	}
	return files + 3, size, nil
}

func probeTLSIngressYAML(i int) string {
	h := probeTLSHost(i)
	return fmt.Sprintf(ingressTmpl, "probe-tls", h, "svc-0", fmt.Sprintf("  tls: [{hosts: [%s], secretName: probe-tls}]\n", h))
}

func probeTLSHost(i int) string { return fmt.Sprintf("probe-%d.tls.scale.local", i) }

// getTLS makes one HTTPS request to addr for host over a new connection,
// verifying the served certificate for host against roots: the default
// certificate, served until the host's own is, fails the handshake.
func getTLS(addr, host string, roots *x509.CertPool) (int, string) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return 0, ""
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

func endpointsYAML(port int) string {
	return fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: probe-svc-1, namespace: default, labels: {kubernetes.io/service-name: probe-svc}}
addressType: IPv4
ports: [{name: http, port: %d}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
`, port)
}

func probeRouteYAML(kind string, i, gateways int) string {
	return route(kind, "probe-route", probeHost(i), "svc-0", 0, gateways)
}

func probeHost(i int) string { return fmt.Sprintf("probe-%d.scale.local", i) }

func addHost(i int) string { return fmt.Sprintf("add-%d.scale.local", i) }

// writeAtomic replaces dir/name by rename, as editors and kubelet do.
// moat applies a renamed file at once, telling it from one written in
// place by its ctime being after its mtime; a write and a rename within
// one kernel clock tick (4 ms here) leave them equal, and the file would
// be held for --manifest-settle (300 ms). The temporary file's mtime is
// therefore set a second back, as a tool whose write and rename are a
// tick apart would leave it.
func writeAtomic(dir, name, content string) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	past := time.Now().Add(-time.Second)
	if err := os.Chtimes(tmp, past, past); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func runSize(o options, kind string, n int, p *pki, a, b backend) (Result, error) {
	r := Result{Kind: kind, Routes: n, Certificates: min(n, o.certs)}
	if kind == kindHTTPRoute {
		r.Gateways, r.Certificates = o.gateways, 1
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("moat-scale-%d-%s-", n, strings.ToLower(kind)))
	if err != nil {
		return r, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	fmt.Printf("== %d × %s, %d certificates: generating manifests in %s\n", n, kind, r.Certificates, dir)
	files, size, err := generate(dir, kind, o.ingressGW && kind == kindIngress, n, o.certs, o.gateways, o.perFile, p, a)
	if err != nil {
		return r, err
	}
	r.Files, r.ManifestMiB = files, round1(float64(size)/(1<<20))

	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return r, err
		}
	}
	httpAddr, httpsAddr, adminAddr := addrs[0], addrs[1], addrs[2]
	ctx, cancel := context.WithTimeout(context.Background(), o.readyWait+time.Duration(4*o.changes)*o.changeWait)
	defer cancel()
	args := []string{"serve", "--manifests", dir,
		"--http-addr", httpAddr, "--https-addr", httpsAddr, "--admin-addr", adminAddr,
		"--access-log=false", "--log-level", "warn"}
	if o.profile != "" {
		args = append(args, "--profiling")
	}
	cmd := exec.CommandContext(ctx, o.moat, args...)
	logf, err := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("moat-scale-%d-%s.log", n, strings.ToLower(kind))))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	setRunning(cmd.Process)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		setRunning(nil)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	pid := cmd.Process.Pid

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true, Proxy: nil},
		Timeout:   5 * time.Second,
	}
	defer client.CloseIdleConnections()
	// Time to ready, then to the first proxied request.
	deadline := start.Add(o.readyWait)
	for {
		if time.Now().After(deadline) {
			return r, fmt.Errorf("not ready within %s (log: %s)", o.readyWait, logf.Name())
		}
		select {
		case err := <-exited:
			return r, fmt.Errorf("moat exited before ready: %v (log: %s)", err, logf.Name())
		default:
		}
		if code, _ := get(client, "http://"+adminAddr+"/readyz", ""); code == 200 {
			r.ReadyS = round3(time.Since(start).Seconds())
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		if time.Now().After(deadline) {
			return r, errors.New("no route served after ready")
		}
		if code, body := get(client, "http://"+httpAddr+"/", "ep.scale.local"); code == 200 && body == a.name {
			r.FirstRouteS = round3(time.Since(start).Seconds())
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.RSSReadyMiB = procMiB(pid, "VmRSS")
	fmt.Printf("   ready in %.2f s (first route %.2f s), RSS %.1f MiB\n", r.ReadyS, r.FirstRouteS, r.RSSReadyMiB)
	// Let the start-up settle (the source's first watch pass re-reads).
	time.Sleep(time.Second)

	// Route change: each change replaces the probe route's host; the
	// client polls the new host until it is served.
	serves := func(host string) func() bool {
		return func() bool {
			code, body := get(client, "http://"+httpAddr+"/", host)
			return code == 200 && body == a.name
		}
	}
	stopProfiles := startProfiles(o.profile, adminAddr, strings.ToLower(kind), n)
	r.Change = measureChanges(o, pid, func(i int) (string, string, func() bool) {
		return "probe-route.yaml", probeRouteYAML(kind, i, o.gateways), serves(probeHost(i))
	}, dir)
	stopProfiles()
	printDelays(kind+" change", r.Change)

	// Route added: each change is a new file with a new route (and
	// host) to an existing Service.
	r.Add = measureChanges(o, pid, func(i int) (string, string, func() bool) {
		return fmt.Sprintf("added-%03d.yaml", i), route(kind, fmt.Sprintf("added-%d", i), addHost(i), "svc-0", i, o.gateways), serves(addHost(i))
	}, dir)
	printDelays(kind+" added", r.Add)

	if o.tls && kind == kindIngress {
		// TLS Ingress change: the same, for an Ingress with spec.tls
		// (its certificate shared through one Secret), polled over HTTPS.
		roots := x509.NewCertPool()
		roots.AddCert(p.ca)
		stopProfiles := startProfiles(o.profile, adminAddr, "tls", n)
		d := measureChanges(o, pid, func(i int) (string, string, func() bool) {
			host := probeTLSHost(i)
			return "probe-tls-ingress.yaml", probeTLSIngressYAML(i), func() bool {
				code, body := getTLS(httpsAddr, host, roots)
				return code == 200 && body == a.name
			}
		}, dir)
		stopProfiles()
		r.TLSChange = &d
		printDelays("TLS Ingress change", d)
	}

	// Endpoint-only change: the probe Service's EndpointSlice flips
	// between backends a and b; the client polls until the other answers.
	r.EndpointOnly = measureChanges(o, pid, func(i int) (string, string, func() bool) {
		to := a
		if i%2 == 1 {
			to = b
		}
		return "probe-endpoints.yaml", endpointsYAML(to.port), func() bool {
			code, body := get(client, "http://"+httpAddr+"/", "ep.scale.local")
			return code == 200 && body == to.name
		}
	}, dir)
	printDelays("endpoint change", r.EndpointOnly)
	r.RSSPeakMiB = procMiB(pid, "VmHWM")
	return r, nil
}

// startProfiles, when dir is set, saves moat's allocation profile now and
// starts a CPU profile; the returned func saves the allocation profile
// again (compare with go tool pprof -base) and waits for the CPU profile.
// Failures are reported and skipped: profiles are an aid, not a result.
func startProfiles(dir, adminAddr, phase string, n int) func() {
	if dir == "" {
		return func() {}
	}
	c := &http.Client{Timeout: time.Minute}
	save := func(path, name string) {
		resp, err := c.Get("http://" + adminAddr + "/debug/pprof/" + path)
		if err == nil {
			defer resp.Body.Close()
			var f *os.File
			if f, err = os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.pb.gz", name, phase, n))); err == nil {
				_, err = io.Copy(f, resp.Body)
				f.Close()
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "scale: profile %s: %v\n", name, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "scale: %v\n", err)
		return func() {}
	}
	save("allocs", "allocs-before")
	done := make(chan struct{})
	go func() {
		defer close(done)
		save("profile?seconds=8", "cpu")
	}()
	return func() {
		save("allocs", "allocs-after")
		<-done
	}
}

func printDelays(what string, d Delays) {
	fmt.Printf("   %s → serving: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d ok, %d timed out), moat CPU %.0f ms/change\n",
		what, d.P50ms, d.P99ms, d.MaxMs, d.N, d.Failed, d.CPUPerMs)
}

// measureChanges applies o.changes changes (change(i) gives the file
// name and content and a check that the change is serving) and times
// each from just before the rename to the first successful check.
func measureChanges(o options, pid int, change func(i int) (name, content string, serving func() bool), dir string) Delays {
	var d Delays
	cpu0 := cpuTicks(pid)
	for i := 1; i <= o.changes; i++ {
		name, content, serving := change(i)
		t0 := time.Now()
		if err := writeAtomic(dir, name, content); err != nil {
			fatal(err)
		}
		ok := false
		for time.Since(t0) < o.changeWait {
			if serving() {
				ok = true
				break
			}
			time.Sleep(o.poll)
		}
		if !ok {
			d.Failed++
			continue
		}
		d.Samples = append(d.Samples, round1(float64(time.Since(t0).Microseconds())/1000))
		// Changes are spaced out so that each is its own reload rather
		// than coalesced with the next.
		time.Sleep(50 * time.Millisecond)
	}
	d.N = len(d.Samples)
	if n := cpuTicks(pid) - cpu0; o.changes > 0 {
		d.CPUPerMs = round1(float64(n) * 10 / float64(o.changes)) // 100 ticks/s
	}
	if d.N > 0 {
		s := slices.Clone(d.Samples)
		slices.Sort(s)
		d.P50ms = pct(s, 50)
		d.P99ms = pct(s, 99)
		d.MaxMs = s[len(s)-1]
	}
	return d
}

// pct is the nearest-rank percentile of sorted s.
func pct(s []float64, p int) float64 {
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func get(c *http.Client, url, host string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// procMiB reads a kB field (VmRSS, VmHWM) of /proc/PID/status in MiB.
func procMiB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return round1(kb / 1024)
		}
	}
	return 0
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

func printResult(r Result) {
	fmt.Printf("   %d × %s, %d certs, %d files (%.1f MiB): ready %.2f s, RSS %.1f MiB ready / %.1f MiB peak\n",
		r.Routes, r.Kind, r.Certificates, r.Files, r.ManifestMiB, r.ReadyS, r.RSSReadyMiB, r.RSSPeakMiB)
}

// Ratio is HTTPRoute / Ingress for one size, from the same invocation.
type Ratio struct {
	Routes       int     `json:"routes"`
	ChangeP99    float64 `json:"change_p99"`
	AddP99       float64 `json:"add_p99"`
	EndpointP99  float64 `json:"endpoint_p99"`
	ChangeP50    float64 `json:"change_p50"`
	ChangeCPU    float64 `json:"change_cpu"`
	ReadyS       float64 `json:"ready_s"`
	RSSPeakMiB   float64 `json:"rss_peak_mib"`
	IngressRun   int     `json:"ingress_run"`
	HTTPRouteRun int     `json:"httproute_run"`
}

// ratios pairs each size's Ingress and HTTPRoute runs (indexes into
// results).
func ratios(results []Result) []Ratio {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return float64(int64(a/b*100+0.5)) / 100
	}
	var out []Ratio
	for i, ing := range results {
		if ing.Kind != kindIngress {
			continue
		}
		for j, hr := range results {
			if hr.Kind != kindHTTPRoute || hr.Routes != ing.Routes {
				continue
			}
			out = append(out, Ratio{
				Routes:       ing.Routes,
				ChangeP99:    div(hr.Change.P99ms, ing.Change.P99ms),
				AddP99:       div(hr.Add.P99ms, ing.Add.P99ms),
				EndpointP99:  div(hr.EndpointOnly.P99ms, ing.EndpointOnly.P99ms),
				ChangeP50:    div(hr.Change.P50ms, ing.Change.P50ms),
				ChangeCPU:    div(hr.Change.CPUPerMs, ing.Change.CPUPerMs),
				ReadyS:       div(hr.ReadyS, ing.ReadyS),
				RSSPeakMiB:   div(hr.RSSPeakMiB, ing.RSSPeakMiB),
				IngressRun:   i,
				HTTPRouteRun: j,
			})
		}
	}
	return out
}

func printRatios(results []Result) {
	for _, r := range ratios(results) {
		fmt.Printf("== %d routes, HTTPRoute / Ingress: change p99 %.2f× (p50 %.2f×, moat CPU %.2f×), added p99 %.2f×, endpoint p99 %.2f×, ready %.2f×, peak RSS %.2f×\n",
			r.Routes, r.ChangeP99, r.ChangeP50, r.ChangeCPU, r.AddP99, r.EndpointP99, r.ReadyS, r.RSSPeakMiB)
	}
}
