package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
)

// TestProxyProtocolAndHTTP3: in cluster mode use-proxy-protocol comes from
// the controller ConfigMap through the API, by the same controllerconfig
// and data plane path as in file mode (test/e2e covers the details): a
// PROXY v1 header gives the backend the client's address, a connection
// without one is closed unanswered, and turning the key off through the
// API applies to the next connection. --http3 answers on the HTTPS port
// over UDP.
func TestProxyProtocolAndHTTP3(t *testing.T) {
	ns := namespace(t, "proxyproto")
	setConfigMap(t, map[string]string{"use-proxy-protocol": "true"})
	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	createIngress(t, ingress(ns, "pp", "pp.proxyproto.test", "/", "web", ""))
	m := startMoat(t, "moat-proxyproto", func(c *app.ControllerConfig) { c.HTTP3 = true }, ns)

	viaPROXY := func() (string, error) {
		conn, err := net.DialTimeout("tcp", m.addrs.HTTP, 5*time.Second)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "PROXY TCP4 192.0.2.33 198.51.100.1 5000 80\r\nGET / HTTP/1.1\r\nHost: pp.proxyproto.test\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var e echo.Response
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			return "", fmt.Errorf("status %d: %v", resp.StatusCode, err)
		}
		return strings.Join(e.Headers["X-Forwarded-For"], ","), nil
	}
	eventually(t, 10*time.Second, "the backend sees the PROXY address", func() error {
		xff, err := viaPROXY()
		if err == nil && xff != "192.0.2.33" {
			err = fmt.Errorf("X-Forwarded-For %q", xff)
		}
		return err
	})
	conn, err := net.Dial("tcp", m.addrs.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: pp.proxyproto.test\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 64)); n != 0 || err == nil {
		t.Errorf("a request without a PROXY header got %d bytes (%v)", n, err)
	}
	conn.Close()

	// HTTP/3 over UDP, untouched by the PROXY setting.
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, m.addrs.HTTPS, tlsCfg, cfg)
		},
	}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://pp.proxyproto.test/")
	if err != nil {
		t.Fatalf("HTTP/3: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e echo.Response
	if err := json.Unmarshal(body, &e); err != nil || resp.ProtoMajor != 3 || resp.StatusCode != 200 || e.Name != "web" {
		t.Errorf("HTTP/3: %s %d %s", resp.Proto, resp.StatusCode, body)
	}

	setConfigMap(t, map[string]string{"use-proxy-protocol": "false"})
	eventually(t, 10*time.Second, "use-proxy-protocol off", serves(m.client(nil), "http://pp.proxyproto.test/", http.StatusOK, "web", nil))
}
