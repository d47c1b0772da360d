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
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serveLogs serves the kubelet's GET /containerLogs/{ns}/{pod}/{container}
// over HTTPS on the node IP, which the API server's pods/log proxies to.
// The API server runs without --kubelet-certificate-authority in the
// harness, so it does not verify this self-signed certificate.
func (k *kubelet) serveLogs(ctx context.Context) error {
	cert, err := selfSigned(k.cfg.nodeIP.String())
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", k.containerLogs)
	srv := &http.Server{
		Addr:              net.JoinHostPort(k.cfg.nodeIP.String(), strconv.Itoa(k.cfg.kubeletPort)),
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServeTLS("", ""); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet endpoint %s: %w", srv.Addr, err)
	}
	return nil
}

// containerLogs answers with the container's captured lines, honouring
// sinceTime, sinceSeconds, tailLines and timestamps. follow is not
// supported: the answer ends at the current end of the log.
func (k *kubelet) containerLogs(w http.ResponseWriter, r *http.Request) {
	st := k.running(r.PathValue("ns"), r.PathValue("pod"))
	if st == nil {
		http.Error(w, "pod is not running on this node", http.StatusNotFound)
		return
	}
	container := r.PathValue("container")
	q := r.URL.Query()
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(w, "sinceTime: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			http.Error(w, "sinceSeconds: "+err.Error(), http.StatusBadRequest)
			return
		}
		since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	tail := -1
	if s := q.Get("tailLines"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			http.Error(w, "tailLines: "+err.Error(), http.StatusBadRequest)
			return
		}
		tail = n
	}
	timestamps := q.Get("timestamps") == "true"
	f, err := os.Open(filepath.Join(st.dir, filepath.Base(container)+".log"))
	if err != nil {
		http.Error(w, "no such container", http.StatusNotFound)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	for sc.Scan() {
		ts, msg, _ := strings.Cut(sc.Text(), " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || t.Before(since) {
			continue
		}
		if timestamps {
			msg = ts + " " + msg
		}
		lines = append(lines, msg)
	}
	if tail >= 0 && tail < len(lines) {
		lines = lines[len(lines)-tail:]
	}
	w.Header().Set("Content-Type", "text/plain")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func selfSigned(ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "podshim"},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
