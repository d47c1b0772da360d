package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// errWait means a pod cannot start yet (a Secret or ConfigMap it mounts
// does not exist); it is retried, as kubelet retries volume setup.
var errWait = errors.New("waiting")

// kubelet runs the pods bound to the shim's Node.
type kubelet struct {
	cs     kubernetes.Interface
	cfg    config
	log    *slog.Logger
	queue  workqueue.TypedRateLimitingInterface[string]
	lister corelisters.PodLister

	mu    sync.Mutex
	pods  map[types.UID]*podState
	byKey map[string]types.UID // namespace/name → the running pod's UID
	ips   ipPool
	seq   int // names network namespaces and veths
}

// podState is one running pod.
type podState struct {
	uid       types.UID
	key       string
	ip        netip.Addr
	netns     string
	dir       string
	procs     []*proc
	ready     bool
	started   time.Time
	scheduled time.Time
}

func newKubelet(cs kubernetes.Interface, cfg config, log *slog.Logger) *kubelet {
	return &kubelet{
		cs:    cs,
		cfg:   cfg,
		log:   log,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pods:  map[types.UID]*podState{},
		byKey: map[string]types.UID{},
		ips:   newIPPool(cfg.podCIDR),
	}
}

func (k *kubelet) run(ctx context.Context) {
	factory := informers.NewSharedInformerFactory(k.cs, 0)
	inf := factory.Core().V1().Pods()
	k.lister = inf.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, o any) { enqueue(o) },
		DeleteFunc: enqueue,
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	k.log.Info("podshim ready", "node", k.cfg.nodeName, "nodeIP", k.cfg.nodeIP, "podCIDR", k.cfg.podCIDR)
	var wg sync.WaitGroup
	// A few workers: starting a pod runs several ip(8) commands.
	for range 4 {
		wg.Go(func() {
			for k.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	k.queue.ShutDown()
	wg.Wait()
	factory.Shutdown()
}

func (k *kubelet) next(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	again, err := k.sync(ctx, key)
	switch {
	case errors.Is(err, errWait):
		k.queue.Forget(key)
		k.queue.AddAfter(key, time.Second)
	case err != nil:
		k.log.Warn("syncing pod", "pod", key, "err", err)
		k.queue.AddRateLimited(key)
	case again:
		k.queue.Forget(key)
		k.queue.AddAfter(key, 100*time.Millisecond)
	default:
		k.queue.Forget(key)
	}
	return true
}

// sync brings one pod to its wanted state; again asks for another look
// soon (the pod is starting).
func (k *kubelet) sync(ctx context.Context, key string) (again bool, err error) {
	ns, name, _ := strings.Cut(key, "/")
	pod, err := k.lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		k.teardownKey(key)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if uid, ok := k.uidFor(key); ok && uid != pod.UID {
		// A pod of the same name replaced the one running.
		k.teardown(uid)
	}
	if pod.DeletionTimestamp != nil {
		if pod.Spec.NodeName != "" && pod.Spec.NodeName != k.cfg.nodeName {
			return false, nil
		}
		k.teardown(pod.UID)
		// Kubelet's final delete: without it a bound pod stays Terminating.
		zero := int64(0)
		err := k.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return false, nil
		}
		return false, err
	}
	if pod.Spec.NodeName == "" {
		return false, k.bind(ctx, pod)
	}
	if pod.Spec.NodeName != k.cfg.nodeName || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, nil
	}
	k.mu.Lock()
	st := k.pods[pod.UID]
	k.mu.Unlock()
	if st == nil {
		if st, err = k.start(ctx, pod); err != nil {
			return false, err
		}
	}
	if st.ready {
		return false, nil
	}
	if !st.listening() {
		if time.Since(st.started) > 30*time.Second {
			k.log.Warn("pod not listening yet", "pod", key, "after", since(st.started), "output", st.tail())
			st.started = time.Now()
		}
		return true, nil
	}
	if err := k.writeRunning(ctx, pod, st); err != nil {
		return false, err
	}
	k.mu.Lock()
	st.ready = true
	k.mu.Unlock()
	k.log.Info("pod ready", "pod", key, "ip", st.ip, "after", since(st.scheduled))
	return false, nil
}

func (k *kubelet) uidFor(key string) (types.UID, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	uid, ok := k.byKey[key]
	return uid, ok
}

func (k *kubelet) bind(ctx context.Context, pod *corev1.Pod) error {
	err := k.cs.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.cfg.nodeName},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // bound already, or gone; the informer tells
	}
	return err
}

// start materialises the pod's volumes, gives it a network namespace and
// an IP, and starts its containers.
func (k *kubelet) start(ctx context.Context, pod *corev1.Pod) (*podState, error) {
	key := pod.Namespace + "/" + pod.Name
	dir := filepath.Join(k.cfg.stateDir, string(pod.UID))
	// The container logs live here too, also for pods without volumes.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := k.writeVolumes(ctx, pod, dir); err != nil {
		return nil, err
	}
	k.mu.Lock()
	ip, ok := k.ips.get()
	k.seq++
	seq := k.seq
	k.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("pod CIDR %s is exhausted", k.cfg.podCIDR)
	}
	release := func() {
		k.mu.Lock()
		k.ips.put(ip)
		k.mu.Unlock()
	}
	env := make([][]string, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		e, err := k.env(ctx, pod, &pod.Spec.Containers[i], dir, ip.String())
		if err != nil {
			release()
			return nil, err
		}
		env[i] = e
	}
	st := &podState{uid: pod.UID, key: key, ip: ip, netns: fmt.Sprintf("ps%d", seq), dir: dir, started: time.Now(), scheduled: pod.CreationTimestamp.Time}
	if err := addPodNetwork(st.netns, fmt.Sprintf("vh%d", seq), ip); err != nil {
		delPodNetwork(st.netns)
		release()
		return nil, fmt.Errorf("pod %s network: %w", key, err)
	}
	for i, c := range pod.Spec.Containers {
		p := &proc{container: c.Name, logPath: filepath.Join(dir, c.Name+".log")}
		if isEchoBasic(c.Image) {
			if err := p.start(st.netns, k.cfg.echoBasic, env[i], dir); err != nil {
				st.stop()
				delPodNetwork(st.netns)
				release()
				return nil, fmt.Errorf("pod %s container %s: %w", key, c.Name, err)
			}
		} else {
			p.noProcess(c.Image)
		}
		st.procs = append(st.procs, p)
	}
	k.mu.Lock()
	k.pods[pod.UID] = st
	k.byKey[key] = pod.UID
	k.mu.Unlock()
	k.log.Info("pod started", "pod", key, "ip", ip, "netns", st.netns)
	return st, nil
}

// writeRunning writes the status kubelet would: Running, the IPs, and
// every condition True.
func (k *kubelet) writeRunning(ctx context.Context, pod *corev1.Pod, st *podState) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	start := metav1.NewTime(st.started)
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = st.ip.String()
	p.Status.PodIPs = []corev1.PodIP{{IP: st.ip.String()}}
	p.Status.HostIP = k.cfg.nodeIP.String()
	p.Status.HostIPs = []corev1.HostIP{{IP: k.cfg.nodeIP.String()}}
	p.Status.StartTime = &start
	p.Status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	p.Status.ContainerStatuses = nil
	started := true
	for _, c := range pod.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "podshim://" + string(pod.UID) + "/" + c.Name,
			Ready: true, Started: &started, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		})
	}
	_, err := k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func (k *kubelet) teardownKey(key string) {
	if uid, ok := k.uidFor(key); ok {
		k.teardown(uid)
	}
}

// teardown stops a pod's processes and removes its network and files.
func (k *kubelet) teardown(uid types.UID) {
	k.mu.Lock()
	st := k.pods[uid]
	if st == nil {
		k.mu.Unlock()
		return
	}
	delete(k.pods, uid)
	if k.byKey[st.key] == uid {
		delete(k.byKey, st.key)
	}
	k.mu.Unlock()
	st.stop()
	delPodNetwork(st.netns)
	os.RemoveAll(st.dir)
	k.mu.Lock()
	k.ips.put(st.ip)
	k.mu.Unlock()
	k.log.Info("pod stopped", "pod", st.key)
}

func (k *kubelet) stopAll() {
	k.mu.Lock()
	uids := make([]types.UID, 0, len(k.pods))
	for uid := range k.pods {
		uids = append(uids, uid)
	}
	k.mu.Unlock()
	for _, uid := range uids {
		k.teardown(uid)
	}
}

// running returns the state of the running pod ns/name.
func (k *kubelet) running(ns, name string) *podState {
	k.mu.Lock()
	defer k.mu.Unlock()
	if uid, ok := k.byKey[ns+"/"+name]; ok {
		return k.pods[uid]
	}
	return nil
}

func (st *podState) stop() {
	for _, p := range st.procs {
		p.stop()
	}
}

// listening tells whether every container with a process listens on a TCP
// port. The conformance manifests have no readiness probes and declare no
// ports, so an open port is the stand-in for Ready.
func (st *podState) listening() bool {
	for _, p := range st.procs {
		if !p.listening() {
			return false
		}
	}
	return true
}

func (st *podState) tail() string {
	var b strings.Builder
	for _, p := range st.procs {
		fmt.Fprintf(&b, "[%s] %s", p.container, p.tail())
	}
	return b.String()
}

// ipPool hands out the addresses of a prefix, skipping its first two
// (network and a gateway-like .1) and its last; freed ones are reused
// only once the prefix has run out, oldest first.
type ipPool struct {
	next, last netip.Addr
	free       []netip.Addr
}

func newIPPool(p netip.Prefix) ipPool {
	first := p.Addr().Next().Next()
	last := p.Addr()
	for range (1 << (32 - p.Bits())) - 1 {
		last = last.Next()
	}
	return ipPool{next: first, last: last}
}

func (p *ipPool) get() (netip.Addr, bool) {
	// Fresh addresses first: an EndpointSlice may still name a stopped
	// pod's address for a moment, and must not reach another pod there.
	if p.next.Less(p.last) {
		a := p.next
		p.next = p.next.Next()
		return a, true
	}
	if len(p.free) > 0 {
		a := p.free[0]
		p.free = p.free[1:]
		return a, true
	}
	return netip.Addr{}, false
}

func (p *ipPool) put(a netip.Addr) {
	if a.IsValid() {
		p.free = append(p.free, a)
	}
}
