package mirror

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// seen is what a mirror backend received.
type seen struct {
	method, uri, host, header, body string
}

// backend is a loopback HTTP server recording each request on got; its
// handler blocks on hold when set.
func backend(t *testing.T, got chan<- seen, hold <-chan struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Get("X-Test"), string(b)}
		if hold != nil {
			<-hold
		}
		w.Write([]byte(strings.Repeat("x", 1000))) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func manager(pools map[string]string) *upstream.Manager {
	m := upstream.NewManager(upstream.Options{})
	ps := map[string]*routecfg.Pool{}
	for k, addr := range pools {
		ps[k] = &routecfg.Pool{Key: k, Endpoints: []routecfg.Endpoint{{Address: addr}}}
	}
	m.Apply(ps)
	return m
}

func request(t *testing.T, method, target, body string) *http.Request {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Method: method, URL: u, Host: "app.example", Header: http.Header{"X-Test": {"yes"}}, Body: http.NoBody}
	if body != "" {
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
	}
	return r
}

// A copy reaches each mirror with the method, path, query, Host,
// headers and body of the request; changing the request's header after
// Send does not reach the copy.
func TestSendCopies(t *testing.T) {
	got := make(chan seen, 4)
	m := manager(map[string]string{"ns/a:80": backend(t, got, nil), "ns/b:80": backend(t, got, nil)})
	s := New(Options{Transport: http.DefaultTransport, Upstreams: m})
	r := request(t, http.MethodPost, "http://upstream/p%2Fq/r?x=1&y=2", "payload")
	s.Send(r, []byte("payload"), []routecfg.Mirror{{Pool: "ns/a:80"}, {Pool: "ns/b:80"}})
	r.Header.Set("X-Test", "changed")
	want := seen{"POST", "/p%2Fq/r?x=1&y=2", "app.example", "yes", "payload"}
	for range 2 {
		if g := <-got; g != want {
			t.Errorf("mirror got %+v, want %+v", g, want)
		}
	}
	waitIdle(s)
	if st := s.Stats(); st.Sent != 2 || st.Failed+st.Dropped+st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// waitIdle waits until no copy is in flight (every slot is free).
func waitIdle(s *Sender) {
	for range cap(s.slots) {
		s.slots <- struct{}{}
	}
	for range cap(s.slots) {
		<-s.slots
	}
}

// A mirror that does not answer holds at most MaxInFlight copies; the
// copies beyond are dropped and Send never waits for it.
func TestSendBounded(t *testing.T) {
	got := make(chan seen, 10)
	hold := make(chan struct{})
	m := manager(map[string]string{"ns/slow:80": backend(t, got, hold)})
	s := New(Options{Transport: http.DefaultTransport, Upstreams: m, MaxInFlight: 3})
	for range 10 {
		s.Send(request(t, http.MethodGet, "http://upstream/", ""), nil, []routecfg.Mirror{{Pool: "ns/slow:80"}})
	}
	for range 3 {
		<-got // the three in flight reached the mirror and wait there
	}
	if st := s.Stats(); st.Dropped != 7 {
		t.Errorf("stats %+v, want 7 dropped", st)
	}
	close(hold)
	waitIdle(s)
	if st := s.Stats(); st.Sent != 3 {
		t.Errorf("stats %+v, want 3 sent", st)
	}
	if len(got) != 0 {
		t.Errorf("%d more copies reached the mirror", len(got))
	}
}

// The fraction is drawn per request and mirror: with a uniform draw, 20%
// mirrors exactly the draws below 20 of each 100.
func TestSendFraction(t *testing.T) {
	got := make(chan seen, 100)
	m := manager(map[string]string{"ns/a:80": backend(t, got, nil)})
	var mu sync.Mutex
	next := 0
	draw := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		next++
		return next % n
	}
	s := New(Options{Transport: http.DefaultTransport, Upstreams: m, Draw: draw})
	for range 100 {
		s.Send(request(t, http.MethodGet, "http://upstream/", ""), nil, []routecfg.Mirror{{Pool: "ns/a:80", Numerator: 20, Denominator: 100}})
	}
	waitIdle(s)
	if st := s.Stats(); st.Sent != 20 || len(got) != 20 {
		t.Errorf("stats %+v, %d copies arrived; want 20", st, len(got))
	}
}

// A body that was not buffered is not mirrored (it cannot be read
// twice); no endpoint, or a refused connection, counts as failed.
func TestSendSkipsAndFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	m := manager(map[string]string{"ns/closed:80": closed})
	m.Apply(map[string]*routecfg.Pool{"ns/closed:80": {Key: "ns/closed:80", Endpoints: []routecfg.Endpoint{{Address: closed}}},
		"ns/empty:80": {Key: "ns/empty:80"}})
	s := New(Options{Transport: http.DefaultTransport, Upstreams: m})
	s.Send(request(t, http.MethodPost, "http://upstream/", "streamed"), nil, []routecfg.Mirror{{Pool: "ns/closed:80"}})
	s.Send(request(t, http.MethodGet, "http://upstream/", ""), nil, []routecfg.Mirror{{Pool: "ns/closed:80"}, {Pool: "ns/empty:80"}})
	up := request(t, http.MethodGet, "http://upstream/", "")
	up.Header.Set("Upgrade", "websocket")
	s.Send(up, nil, []routecfg.Mirror{{Pool: "ns/closed:80"}})
	waitIdle(s)
	if st := s.Stats(); st != (Stats{Skipped: 1, Failed: 2}) {
		t.Errorf("stats %+v, want 1 skipped and 2 failed", st)
	}
}
