// Command podshim stands in for kubelet and kube-scheduler in the Gateway
// API conformance harness (test/gatewayconformance), where there is no
// container runtime and no image can be pulled.
//
// It registers one Node, binds every unscheduled Pod to it, and runs each
// Pod whose image is the conformance echo server (…/echo-basic:TAG) as the
// locally built echo-basic binary, in a network namespace of its own joined
// to the caller's by a veth pair, with an IP from --pod-cidr. Other images
// (coredns, for the UDP tests moat does not run) get an IP and are marked
// Ready without a process. Secret and ConfigMap volumes are written to
// --state-dir, and environment values under a container's mountPath are
// rewritten onto them; a Pod whose Secret does not exist yet waits, as
// kubelet holds it in ContainerCreating. It serves the kubelet's
// /containerLogs endpoint, which the API server's pods/log proxies to, from
// the captured output.
//
// It must run as root inside a network and mount namespace made for it:
// it adds network namespaces, veths and routes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	flag.StringVar(&cfg.nodeName, "node-name", "shim", "name of the Node to register and bind pods to")
	nodeIP := flag.String("node-ip", "10.244.0.2", "the Node's InternalIP: a local, non-loopback address; the kubelet endpoint listens on it")
	podCIDR := flag.String("pod-cidr", "10.244.128.0/17", "pod IPs are taken from this prefix; it must not be local")
	flag.StringVar(&cfg.echoBasic, "echo-basic", "", "path of the echo-basic binary (sigs.k8s.io/gateway-api/conformance/echo-basic)")
	flag.StringVar(&cfg.stateDir, "state-dir", "/run/podshim", "where volumes and logs are written")
	flag.IntVar(&cfg.kubeletPort, "kubelet-port", 10250, "port of the kubelet endpoint (containerLogs)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := cfg.parse(*nodeIP, *podCIDR); err != nil {
		fmt.Fprintln(os.Stderr, "podshim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("podshim failed", "err", err)
		os.Exit(1)
	}
}

type config struct {
	kubeconfig, nodeName, echoBasic, stateDir string
	nodeIP                                    netip.Addr
	podCIDR                                   netip.Prefix
	kubeletPort                               int
}

func (c *config) parse(nodeIP, podCIDR string) error {
	var err error
	if c.nodeIP, err = netip.ParseAddr(nodeIP); err != nil || !c.nodeIP.Is4() {
		return fmt.Errorf("--node-ip %q: not an IPv4 address", nodeIP)
	}
	if c.podCIDR, err = netip.ParsePrefix(podCIDR); err != nil || !c.podCIDR.Addr().Is4() || c.podCIDR.Bits() > 30 {
		return fmt.Errorf("--pod-cidr %q: not an IPv4 prefix of at least 4 addresses", podCIDR)
	}
	c.podCIDR = c.podCIDR.Masked()
	if c.echoBasic == "" {
		return fmt.Errorf("--echo-basic is required (hack/gwconformance/build.sh builds it)")
	}
	if _, err := os.Stat(c.echoBasic); err != nil {
		return fmt.Errorf("--echo-basic: %w (hack/gwconformance/build.sh builds it)", err)
	}
	return nil
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.stateDir, 0o755); err != nil {
		return err
	}
	if err := registerNode(ctx, cs, cfg); err != nil {
		return fmt.Errorf("registering Node %s: %w", cfg.nodeName, err)
	}
	k := newKubelet(cs, cfg, log)
	logsErr := make(chan error, 1)
	go func() { logsErr <- k.serveLogs(ctx) }()
	done := make(chan struct{})
	go func() { k.run(ctx); close(done) }()
	select {
	case <-ctx.Done():
	case err = <-logsErr:
	}
	<-done
	k.stopAll()
	return err
}

// registerNode creates the Node (or takes over one left by an earlier
// run) and writes a Ready status. There is no node lifecycle controller in
// the harness, so no heartbeat is needed to keep it Ready.
func registerNode(ctx context.Context, cs kubernetes.Interface, cfg config) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   cfg.nodeName,
		Labels: map[string]string{"kubernetes.io/hostname": cfg.nodeName, "kubernetes.io/os": "linux"},
	}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for range 5 {
		n, err := cs.CoreV1().Nodes().Get(ctx, cfg.nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("64"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("1000"),
		}
		n.Status = corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Phase:       corev1.NodeRunning,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "podshim is running", LastHeartbeatTime: now, LastTransitionTime: now,
			}},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: cfg.nodeIP.String()},
				{Type: corev1.NodeHostName, Address: cfg.nodeName},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(cfg.kubeletPort)}},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion: "v0.0.0-podshim", OperatingSystem: "linux", Architecture: "amd64",
				ContainerRuntimeVersion: "podshim://0",
			},
		}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("node status update kept conflicting")
}

// isEchoBasic tells whether image is the conformance echo server, in any
// of the registries and tags the suite versions use.
func isEchoBasic(image string) bool {
	name := image
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return strings.HasSuffix(name, "/echo-basic")
}

// since reports how long ago t was, for logs.
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
