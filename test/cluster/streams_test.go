package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
)

// streamPort is the port the TCP backends listen on.
const streamPort = 9000

// TestTCPServicesConfigMap: in cluster mode --tcp-services-configmap names
// a ConfigMap read through the API like the controller ConfigMap; its
// entry is served, an EndpointSlice change moves new connections to the
// new endpoint, and a ConfigMap change opens a new port and closes the
// old one, without a restart.
func TestTCPServicesConfigMap(t *testing.T) {
	ns := namespace(t, "streams")
	a, b := tcpBackend(t, "a"), tcpBackend(t, "b")
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "db", Port: 5432, Protocol: corev1.ProtocolTCP}}, Selector: map[string]string{"app": "db"}},
	}
	if _, err := cp.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("db"), Port: ptr(int32(streamPort)), Protocol: ptr(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
	}
	if _, err := cp.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p1, p2 := freeLoopbackPort(t), freeLoopbackPort(t)
	cms := cp.client.CoreV1().ConfigMaps(ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tcp-services", Namespace: ns},
		Data: map[string]string{strconv.Itoa(p1): ns + "/db:5432"}}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	startMoat(t, "moat-streams", func(c *app.ControllerConfig) { c.TCPServicesConfigMap = ns + "/tcp-services" }, ns)

	eventually(t, 10*time.Second, "the entry served by endpoint a", func() error { return streamSays(p1, "a") })

	// The endpoint moves: new connections follow, an open one stays.
	held, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p1)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	hr := bufio.NewReader(held)
	slice.Endpoints[0].Addresses = []string{b}
	if _, err := cp.client.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "new connections reaching endpoint b", func() error { return streamSays(p1, "b") })
	if got, err := say(held, hr, "still"); err != nil || got != "a: still" {
		t.Errorf("the connection made before the change: %q, %v", got, err)
	}

	// The ConfigMap changes: the entry moves to another port.
	cm.Data = map[string]string{strconv.Itoa(p2): ns + "/db:db"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the new port served", func() error { return streamSays(p2, "b") })
	eventually(t, 10*time.Second, "the old port closed", func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p1)), time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		return fmt.Errorf("port %d still accepts", p1)
	})
}

// tcpBackend answers each line with "NAME: line" on a fresh address of
// the backend network and returns its IP.
func tcpBackend(t *testing.T, name string) string {
	t.Helper()
	ip := fmt.Sprintf("10.244.0.%d", 10+nextBackendIP.Add(1))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(streamPort)))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s: %s", name, line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ip
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func say(c net.Conn, r *bufio.Reader, line string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := r.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// streamSays checks that a new connection to port is answered by name.
func streamSays(port int, name string) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	got, err := say(c, bufio.NewReader(c), "ping")
	if err != nil {
		return err
	}
	if got != name+": ping" {
		return fmt.Errorf("answered %q", got)
	}
	return nil
}
