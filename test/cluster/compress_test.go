package cluster

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/moat-ingress/moat/internal/echo"
)

// TestCompressionConfigMap: in cluster mode use-gzip and enable-brotli come
// from the controller ConfigMap through the API, by the same path as in
// file mode (test/e2e TestCompression covers the rules): the echo
// backend's JSON is gzipped, and after the ConfigMap changes, brotli is
// preferred without a restart.
func TestCompressionConfigMap(t *testing.T) {
	ns := namespace(t, "compress")
	setConfigMap(t, map[string]string{"use-gzip": "true", "gzip-min-length": "0"})
	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	createIngress(t, ingress(ns, "web", "zip.compress.test", "/", "web", ""))
	m := startMoat(t, "moat-compress", nil, ns)
	c := m.client(nil)

	eventually(t, 10*time.Second, "a gzipped answer", compressed(c, "http://zip.compress.test/x", "gzip, br", "gzip"))
	setConfigMap(t, map[string]string{"use-gzip": "true", "enable-brotli": "true"})
	eventually(t, 5*time.Second, "brotli after the ConfigMap change", compressed(c, "http://zip.compress.test/x", "gzip, br", "br"))
}

// compressed checks that url answers with Content-Encoding want, Vary:
// Accept-Encoding and the echo backend's JSON once decoded.
func compressed(c *http.Client, url, ae, want string) func() error {
	return func() error {
		rq, err := http.NewRequest("GET", url, nil)
		if err != nil {
			return err
		}
		rq.Header.Set("Accept-Encoding", ae)
		resp, err := c.Do(rq)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if ce := resp.Header.Get("Content-Encoding"); ce != want || resp.Header.Get("Vary") != "Accept-Encoding" {
			return fmt.Errorf("GET %s: Content-Encoding %q (want %q), Vary %q", url, ce, want, resp.Header.Get("Vary"))
		}
		var r io.Reader = brotli.NewReader(resp.Body)
		if want == "gzip" {
			if r, err = gzip.NewReader(resp.Body); err != nil {
				return err
			}
		}
		var e echo.Response
		if err := json.NewDecoder(r).Decode(&e); err != nil {
			return fmt.Errorf("GET %s: decoding %s: %v", url, want, err)
		}
		if e.Path != "/x" {
			return fmt.Errorf("GET %s: echo saw path %q", url, e.Path)
		}
		return nil
	}
}
