//go:build gwconformance

package gatewayconformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	"sigs.k8s.io/yaml"
)

// Profiles run; GATEWAY-TCP and -UDP are left out (moat has no TCPRoute
// or UDPRoute) and so are the mesh ones.
const profiles = "GATEWAY-HTTP,GATEWAY-TLS,GATEWAY-GRPC"

const gatewayClass = "moat"

func TestConformance(t *testing.T) {
	if os.Getenv(inNetnsEnv) == "" {
		t.Fatal("TestMain did not re-execute the test in a network namespace")
	}
	kube, gwc, moatBin := os.Getenv("MOAT_GWC_KUBE"), os.Getenv("MOAT_GWC_DIR"), os.Getenv("MOAT_GWC_MOAT")
	channel := envOr("MOAT_GWC_CHANNEL", "experimental")
	if channel != "experimental" && channel != "standard" {
		t.Fatalf("MOAT_GWC_CHANNEL=%q: want experimental or standard", channel)
	}
	runTest := os.Getenv("MOAT_GWC_RUN_TEST")
	start := time.Now()
	if err := setupNetwork(); err != nil {
		t.Fatalf("network namespace setup: %v", err)
	}
	tmp := t.TempDir()
	logs := filepath.Join(tmp, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}

	// Control plane: the API server reaches the Node (podshim's kubelet
	// endpoint, for pods/log) at its InternalIP.
	api := &envtest.APIServer{StartTimeout: 2 * time.Minute, StopTimeout: time.Minute}
	api.Configure().Set("advertise-address", "127.0.0.1")
	api.Configure().Set("endpoint-reconciler-type", "none")
	api.Configure().Set("kubelet-preferred-address-types", "InternalIP")
	api.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(gwc, "crd", channel)},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    kube,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		ControlPlane:             envtest.ControlPlane{APIServer: api},
	}
	admin, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "conformance-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(admin)
	gcs := gwclient.NewForConfigOrDie(admin)
	t.Logf("control plane up in %s", since(start))

	daemon(t, logs, "kube-controller-manager", filepath.Join(kube, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--controllers=deployment-controller,replicaset-controller,endpointslice-controller,endpointslice-mirroring-controller,namespace-controller,garbage-collector-controller",
		"--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10")
	daemon(t, logs, "podshim", filepath.Join(gwc, "podshim"),
		"--kubeconfig="+kubeconfig, "--node-ip="+nodeIP, "--pod-cidr="+podCIDR,
		"--echo-basic="+filepath.Join(gwc, "echo-basic"), "--state-dir="+filepath.Join(tmp, "pods"))

	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "moat-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Each Gateway gets an address of its own from the pool on lo
	// (HTTPRouteMultipleGateways needs that); the Ingress listeners stay
	// off the pool.
	moatArgs := []string{"controller", "--kubeconfig=" + kubeconfig,
		"--http-addr=127.0.0.1:8080", "--https-addr=127.0.0.1:8443", "--admin-addr=127.0.0.1:10254",
		"--gateway-address-pool=" + gatewayPool}
	daemon(t, logs, "moat", moatBin, moatArgs...)

	gc := &gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: gatewayClass},
		Spec:       gatewayv1.GatewayClassSpec{ControllerName: "moat.dev/gateway-controller"},
	}
	if _, err := gcs.GatewayV1().GatewayClasses().Create(ctx, gc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	features, err := waitAccepted(ctx, gcs, time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, tails(logs))
	}
	t.Logf("GatewayClass %s accepted after %s; supported features: %s", gatewayClass, since(start), strings.Join(features, ","))

	reportPath := filepath.Join(tmp, "report.yaml")
	if runTest == "" {
		reportPath = envOr("MOAT_GWC_REPORT", filepath.Join("..", "..", "docs", "conformance", channel+"-"+suiteVersion+"-default-report.yaml"))
	}
	// The suite runs in tmp: give it an absolute path, in a folder that exists.
	if reportPath, err = filepath.Abs(reportPath); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(reportPath), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-test.v", "-test.timeout=80m",
		"--kubeconfig=" + kubeconfig,
		"--gateway-class=" + gatewayClass,
		"--conformance-profiles=" + profiles,
		"--cleanup-base-resources=false",
		"--organization=moat-ingress", "--project=moat",
		"--url=https://github.com/moat-ingress/moat",
		"--version=" + moatVersion(),
		"--contact=https://github.com/moat-ingress/moat/issues",
		"--mode=default",
		"--report-output=" + reportPath,
		// GatewayStaticAddresses: one address of moat's pool, one outside it.
		"--usable-address=" + usableAddr, "--unusable-address=" + unusableAddr,
	}
	if runTest != "" {
		// The suite infers features from the GatewayClass only for whole
		// runs; one test gets them spelled out.
		args = append(args, "--run-test="+runTest, "--supported-features="+strings.Join(features, ","))
	}
	args = append(args, strings.Fields(os.Getenv("MOAT_GWC_ARGS"))...)
	suite := exec.Command(filepath.Join(gwc, "conformance.test"), args...)
	suite.Dir = tmp
	suite.Stdout, suite.Stderr = os.Stdout, os.Stderr
	suiteStart := time.Now()
	suiteErr := suite.Run()
	t.Logf("conformance suite ran in %s (%s in all)", since(suiteStart), since(start))

	if os.Getenv("MOAT_GWC_KEEP") != "" {
		keep(t, kubeconfig, logs, filepath.Join(gwc, "conformance.test"), args)
	}
	if suiteErr != nil {
		t.Errorf("conformance.test: %v (its output is above)", suiteErr)
	}
	if t.Failed() {
		t.Logf("logs of the control plane, podshim and moat (last lines):\n%s", tails(logs))
	}
	if runTest != "" {
		return
	}
	checkReport(t, reportPath)
}

// report is the part of the suite's ConformanceReport checked here.
type report struct {
	Profiles []struct {
		Name     string  `json:"name"`
		Core     outcome `json:"core"`
		Extended outcome `json:"extended"`
	} `json:"profiles"`
}

type outcome struct {
	Result     string `json:"result"`
	Statistics struct {
		Passed  int `json:"Passed"`
		Failed  int `json:"Failed"`
		Skipped int `json:"Skipped"`
	} `json:"statistics"`
	FailedTests  []string `json:"failedTests"`
	SkippedTests []string `json:"skippedTests"`
}

// checkReport fails on any failed or skipped core test and any failed
// extended test, and prints the counts.
func checkReport(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the suite wrote no report: %v", err)
	}
	var r report
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	if len(r.Profiles) == 0 {
		t.Fatalf("report %s has no profiles", path)
	}
	passed, failed := 0, 0
	for _, p := range r.Profiles {
		c, e := p.Core.Statistics, p.Extended.Statistics
		fmt.Printf("%s: core %d passed, %d failed, %d skipped; extended %d passed, %d failed, %d skipped\n",
			p.Name, c.Passed, c.Failed, c.Skipped, e.Passed, e.Failed, e.Skipped)
		passed += c.Passed + e.Passed
		failed += c.Failed + e.Failed
		if c.Failed > 0 || c.Skipped > 0 {
			t.Errorf("%s core: failed %v, skipped %v", p.Name, p.Core.FailedTests, p.Core.SkippedTests)
		}
		if e.Failed > 0 {
			t.Errorf("%s extended: failed %v", p.Name, p.Extended.FailedTests)
		}
	}
	t.Logf("report: %s", path)
	fmt.Printf("%d passed, %d failed\n", passed, failed)
}

// waitAccepted waits for moat to accept the GatewayClass and returns the
// features it publishes.
func waitAccepted(ctx context.Context, gcs gwclient.Interface, d time.Duration) ([]string, error) {
	deadline := time.Now().Add(d)
	for {
		gc, err := gcs.GatewayV1().GatewayClasses().Get(ctx, gatewayClass, metav1.GetOptions{})
		if err == nil {
			c := meta.FindStatusCondition(gc.Status.Conditions, string(gatewayv1.GatewayClassConditionStatusAccepted))
			if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == gc.Generation {
				var fs []string
				for _, f := range gc.Status.SupportedFeatures {
					fs = append(fs, string(f.Name))
				}
				slices.Sort(fs)
				return fs, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("GatewayClass %s not accepted by moat within %s (last error: %v)", gatewayClass, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// daemon starts a process for the whole test, its output in logs/NAME.log;
// it is killed when the test ends.
func daemon(t *testing.T, logs, name, bin string, args ...string) {
	t.Helper()
	f, err := os.Create(filepath.Join(logs, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "--- %s exited: %v\n", name, err)
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		f.Close()
	})
}

// keep holds the run open for a development loop: it writes a script that
// runs the suite again inside this namespace and waits for Ctrl-C.
func keep(t *testing.T, kubeconfig, logs, suite string, args []string) {
	var keepArgs []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--run-test=") && !strings.HasPrefix(a, "--report-output=") && !strings.HasPrefix(a, "--supported-features=") {
			keepArgs = append(keepArgs, a)
		}
	}
	script := filepath.Join(os.TempDir(), "moat-gwc-rerun.sh")
	body := fmt.Sprintf("#!/bin/sh\n# Runs the conformance suite again against the kept control plane; add e.g. --run-test=NAME --supported-features=...\n"+
		"exec nsenter -t %d -n -m -- %s %s \"$@\"\n", os.Getpid(), suite, strings.Join(keepArgs, " "))
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Error(err)
		return
	}
	fmt.Printf("MOAT_GWC_KEEP: control plane, podshim and moat are up.\n  kubeconfig: %s\n  logs: %s\n  run the suite again: %s --run-test=NAME --supported-features=...\n  enter the namespace: nsenter -t %d -n -m\nCtrl-C ends it.\n",
		kubeconfig, logs, script, os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	signal.Stop(sig)
}

// setupNetwork makes this mount namespace's mounts private (so nothing
// below leaks to the host), gives ip(8) a private /run/netns, and puts the
// harness addresses on lo.
func setupNetwork() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on /run/netns: %w", err)
	}
	for _, c := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", apiNet, "dev", "lo"},
		{"addr", "add", gatewayNet, "dev", "lo"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// tails returns the last lines of every log.
func tails(dir string) string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(&b, "=== %s\n%s\n", filepath.Base(f), strings.Join(lines, "\n"))
	}
	return b.String()
}

func moatVersion() string {
	out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "dev"
	}
	return strings.TrimSpace(string(out))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
