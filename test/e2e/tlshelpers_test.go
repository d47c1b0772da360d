package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/testutil"
)

// leaf issues a certificate from ca: a client certificate when client is
// true, else a server certificate for the DNS names.
func (ca *testCA) leaf(t *testing.T, cn string, client bool, dns ...string) *tls.Certificate {
	return ca.Leaf(t, cn, client, dns...)
}

// caPEM is the CA certificate as PEM.
func (ca *testCA) caPEM() []byte { return ca.PEM() }

// opaqueSecret returns a Secret manifest with the given data keys.
func opaqueSecret(ns, name string, data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ndata:\n", name, ns)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %s\n", k, base64.StdEncoding.EncodeToString(data[k]))
	}
	return b.String()
}

// certPEM returns tls.crt and tls.key of a certificate.
func certPEM(t *testing.T, c *tls.Certificate) (crt, key []byte) { return testutil.PEM(t, c) }

// annotate adds annotations to a manifest made by ingress().
func annotate(manifest string, ann map[string]string) string {
	keys := make([]string, 0, len(ann))
	for k := range ann {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "    nginx.ingress.kubernetes.io/%s: %q\n", k, ann[k])
	}
	i := strings.Index(manifest, "metadata: {name: ")
	end := strings.Index(manifest[i:], "}\n") + i
	inner := manifest[i+len("metadata: {") : end]
	parts := strings.Split(inner, ", ")
	return manifest[:i] + "metadata:\n  " + parts[0] + "\n  " + parts[1] + "\n  annotations:\n" + b.String() + manifest[end+2:]
}

// tlsClient returns a client that connects to moat's HTTPS listener with
// the given SNI (whatever the URL's host, which becomes the Host header)
// and client certificate (nil for none).
func (m *moat) tlsClient(sni string, cert *tls.Certificate, h2 bool) *http.Client {
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, m.addrs.HTTPS)
	}
	tr := &http.Transport{DialContext: dial, TLSClientConfig: cfg, ForceAttemptHTTP2: h2, DisableCompression: true}
	if sni == "" {
		// http.Transport would send the URL's host as SNI.
		if h2 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		}
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// doHeaders is do with extra request headers.
func doHeaders(c *http.Client, url string, hdr map[string]string) (result, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return result{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	r := result{status: resp.StatusCode, header: resp.Header, body: body, proto: resp.Proto, tls: resp.TLS}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &r.echo)
	}
	return r, nil
}

// startTLSEcho runs an echo backend over TLS with cert; with clientCAs set
// it requires a client certificate from them. It returns "ip:port".
func startTLSEcho(t *testing.T, name string, cert *tls.Certificate, clientCAs *x509.CertPool) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{*cert}}
	if clientCAs != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := echo.Handler(name)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Backend-Saw-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		w.Header().Set("X-Backend-SNI", r.TLS.ServerName)
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
