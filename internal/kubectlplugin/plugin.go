// Package kubectlplugin reads a running controller's debug views for `kubectl
// moat` (the moat binary installed as kubectl-moat).
//
// deploy/ and the chart serve /debug/* on a loopback-only listener
// (--debug-addr=127.0.0.1:10255), which nothing outside the pod reaches, not
// even the API server's pod proxy. So, as ingress-nginx's plugin does, the
// default way in is `kubectl exec`: the API server opens an exec stream to
// the pod and moat, inside, fetches the page from its own loopback
// (`moat admin-get`). The pod proxy (ViaProxy) is for controllers that
// serve /debug on the admin port (--debug-addr empty); it needs only the
// pods/proxy permission and no kubelet exec.
package kubectlplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// How the plugin reaches the controller.
const (
	ViaExec  = "exec"
	ViaProxy = "proxy"
)

// DefaultSelector matches the controller pods of deploy/ and the chart.
const DefaultSelector = "app.kubernetes.io/name=moat,app.kubernetes.io/component=controller"

// InPodAddrs are the addresses `moat admin-get` tries inside the pod: the
// loopback debug listener, then the admin listener (--debug-addr empty).
var InPodAddrs = []string{"127.0.0.1:10255", "127.0.0.1:10254"}

// Options locate the controller.
type Options struct {
	Namespace string
	// Pod, when set, is used instead of choosing one by Selector.
	Pod       string
	Selector  string
	Container string
	Via       string
	// AdminPort is the pod port the proxy reaches (ViaProxy).
	AdminPort int
	// Binary is moat's path in the image (ViaExec).
	Binary string
}

// Client talks to the controller through the API server.
type Client struct {
	cfg  *rest.Config
	cs   kubernetes.Interface
	opts Options
}

// New returns a client; opts' empty fields take deploy/'s values.
func New(cfg *rest.Config, opts Options) (*Client, error) {
	if opts.Namespace == "" {
		opts.Namespace = "moat-system"
	}
	if opts.Selector == "" {
		opts.Selector = DefaultSelector
	}
	if opts.Container == "" {
		opts.Container = "moat"
	}
	if opts.Via == "" {
		opts.Via = ViaExec
	}
	if opts.Via != ViaExec && opts.Via != ViaProxy {
		return nil, fmt.Errorf("--via=%s: want %s or %s", opts.Via, ViaExec, ViaProxy)
	}
	if opts.AdminPort == 0 {
		opts.AdminPort = 10254
	}
	if opts.Binary == "" {
		opts.Binary = "/moat"
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, cs: cs, opts: opts}, nil
}

// Pod returns the pod asked for, or the first ready controller pod.
func (c *Client) Pod(ctx context.Context) (string, error) {
	if c.opts.Pod != "" {
		return c.opts.Pod, nil
	}
	pods, err := c.cs.CoreV1().Pods(c.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: c.opts.Selector})
	if err != nil {
		return "", fmt.Errorf("listing controller pods in %s: %w", c.opts.Namespace, err)
	}
	if len(pods.Items) == 0 {
		return "", fmt.Errorf("no pod in namespace %s matches %s: is moat installed there? (-n NAMESPACE, --selector, --pod)", c.opts.Namespace, c.opts.Selector)
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	for _, p := range items {
		if p.Status.Phase == corev1.PodRunning && ready(&p) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no ready controller pod in %s (%d match %s)", c.opts.Namespace, len(items), c.opts.Selector)
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Get returns the body of path (e.g. /debug/config) from the controller.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	pod, err := c.Pod(ctx)
	if err != nil {
		return nil, err
	}
	if c.opts.Via == ViaProxy {
		b, err := c.cs.CoreV1().Pods(c.opts.Namespace).ProxyGet("http", pod, strconv.Itoa(c.opts.AdminPort), path, nil).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s port %d%s through the API server's pod proxy: %w (with --debug-addr set, /debug is on the pod's loopback only: use --via=exec)",
				c.opts.Namespace, pod, c.opts.AdminPort, path, err)
		}
		return b, nil
	}
	return c.exec(ctx, pod, path)
}

// exec runs `moat admin-get PATH` in the controller container.
func (c *Client) exec(ctx context.Context, pod, path string) ([]byte, error) {
	cmd := []string{c.opts.Binary, "admin-get", path}
	for _, a := range InPodAddrs {
		cmd = append(cmd, "--addr", a)
	}
	req := c.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(c.opts.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: c.opts.Container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.cfg, http.MethodGet, req.URL().String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.cfg, http.MethodPost, req.URL())
	if err != nil {
		return nil, err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			msg = ": " + msg
		}
		return nil, fmt.Errorf("kubectl exec %s/%s -c %s -- %s%s: %w", c.opts.Namespace, pod, c.opts.Container, strings.Join(cmd, " "), msg, err)
	}
	return stdout.Bytes(), nil
}

// Backends picks the pool lines (backend, endpoints) out of /debug/config.
func Backends(conf []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(conf), "\n") {
		if strings.HasPrefix(line, "pool ") {
			b.WriteString(strings.TrimPrefix(line, "pool "))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// AdminGet is `moat admin-get`, run inside the pod: GET path from the first
// of addrs that accepts a connection, writing the body to w. A non-200
// answer is an error carrying the body.
func AdminGet(ctx context.Context, w io.Writer, path string, addrs []string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path %q: want an absolute path such as /debug/config", path)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var errs []error
	for _, a := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusNotFound && len(addrs) > 1 {
			// The admin listener without /debug (it moved to the debug
			// listener, which did not answer): try the next.
			errs = append(errs, fmt.Errorf("%s%s: 404", a, path))
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s%s: %s: %s", a, path, resp.Status, strings.TrimSpace(string(body)))
		}
		_, err = w.Write(body)
		return err
	}
	return fmt.Errorf("no admin listener answered: %w", errors.Join(errs...))
}

// diagnostic is diag.Diagnostic as /debug/diagnostics writes it.
type diagnostic struct {
	Object struct {
		Kind, Namespace, Name string
	} `json:"object"`
	Severity, Reason, Field, Message, Hint string
}

// FormatDiagnostics turns /debug/diagnostics into one line per finding,
// "severity kind ns/name field: message (Reason)", and counts the errors.
func FormatDiagnostics(body []byte) (string, int, error) {
	var ds []diagnostic
	if err := json.Unmarshal(body, &ds); err != nil {
		return "", 0, fmt.Errorf("/debug/diagnostics: %w", err)
	}
	var b strings.Builder
	errs := 0
	for _, d := range ds {
		if d.Severity == "error" {
			errs++
		}
		obj := strings.ToLower(d.Object.Kind)
		if d.Object.Namespace != "" {
			obj += " " + d.Object.Namespace + "/" + d.Object.Name
		} else if d.Object.Name != "" {
			obj += " " + d.Object.Name
		}
		fmt.Fprintf(&b, "%-7s %s", d.Severity, strings.TrimSpace(obj))
		if d.Field != "" {
			fmt.Fprintf(&b, " %s", d.Field)
		}
		fmt.Fprintf(&b, ": %s (%s)\n", d.Message, d.Reason)
		if d.Hint != "" {
			fmt.Fprintf(&b, "        hint: %s\n", d.Hint)
		}
	}
	if len(ds) == 0 {
		b.WriteString("no findings: every Ingress the controller serves translated cleanly\n")
	}
	return b.String(), errs, nil
}
