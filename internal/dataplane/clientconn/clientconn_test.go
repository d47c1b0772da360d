package clientconn

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/testutil"
)

// failingListener fails its first n accepts with EMFILE, as a process at
// its open-file limit does, then accepts from the real listener.
type failingListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n > 0
	l.n--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsCountedAndWarned: EMFILE from accept is retried,
// counted for each failure and logged at WARN (once per interval, with a
// hint), and the listener goes on accepting.
func TestAcceptErrorsCountedAndWarned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	logs := &testutil.SyncBuffer{}
	var mu sync.Mutex
	counted := 0
	g := NewGate(Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), OnAcceptError: func(l string) {
		mu.Lock()
		defer mu.Unlock()
		if l == "http" {
			counted++
		}
	}})
	gl := g.Listen(&failingListener{Listener: ln, n: 3}, "http", false)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	c, err := gl.Accept()
	if err != nil {
		t.Fatalf("Accept after EMFILE: %v", err)
	}
	defer c.Close()
	if counted != 3 {
		t.Errorf("%d accept errors counted, want 3", counted)
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "open-file limit") {
		t.Errorf("want one WARN with the open-file hint, got:\n%s", out)
	}
	if g.Open() != 1 {
		t.Errorf("Open() = %d, want 1", g.Open())
	}
	c.Close()
	c.Close()
	if g.Open() != 0 {
		t.Errorf("Open() after Close = %d, want 0", g.Open())
	}
}

// TestSendTimeout: a write to a client that reads nothing fails once the
// send timeout has passed without progress (nginx's send_timeout).
func TestSendTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := NewGate(Options{})
	g.Set(0, 300*time.Millisecond)
	gl := g.Listen(ln, "http", false)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close() // never read
	c, err := gl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		buf := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 4096; i++ { // 256 MiB at most: far beyond the socket buffers
			if _, err := c.Write(buf); err != nil {
				done <- err
				return
			}
		}
		done <- errors.New("256 MiB written to a client that reads nothing")
	}()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("write ended with %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("write to a stalled client still blocked after 20s")
	}
}

// TestRefusedOverLimit: past the limit a plain connection is answered
// 503 and closed, a TLS one closed, each counted; a freed slot is reused.
func TestRefusedOverLimit(t *testing.T) {
	for _, tls := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := make(chan string, 4)
		g := NewGate(Options{OnRefused: func(l string) { refused <- l }})
		g.Set(1, 0)
		gl := g.Listen(ln, "x", tls)
		accepted := make(chan net.Conn, 2)
		go func() {
			for {
				c, err := gl.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		first, _ := net.Dial("tcp", ln.Addr().String())
		held := <-accepted
		second, _ := net.Dial("tcp", ln.Addr().String())
		_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(second)
		if want := map[bool]string{false: "HTTP/1.1 503 ", true: ""}[tls]; !strings.HasPrefix(string(got), want) || (tls && len(got) > 0) {
			t.Errorf("tls=%v: over the limit got %q", tls, got)
		}
		if l := <-refused; l != "x" {
			t.Errorf("refused on %q", l)
		}
		held.Close()
		third, _ := net.Dial("tcp", ln.Addr().String())
		select {
		case c := <-accepted:
			c.Close()
		case <-time.After(5 * time.Second):
			t.Errorf("tls=%v: a freed slot was not reused", tls)
		}
		first.Close()
		second.Close()
		third.Close()
		ln.Close()
	}
}
