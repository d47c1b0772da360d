package linebuf

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records each write separately.
type sink struct {
	mu     sync.Mutex
	writes []string
	fail   error
	wrote  chan struct{}
}

func newSink() *sink { return &sink{wrote: make(chan struct{}, 1000)} }

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes = append(s.writes, string(p))
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *sink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

func TestLinesWaitForFlushAndLeaveTogether(t *testing.T) {
	s := newSink()
	w := New(s, 1024, time.Hour)
	for _, l := range []string{"a\n", "b\n", "c\n"} {
		if n, err := w.Write([]byte(l)); n != len(l) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", l, n, err)
		}
	}
	if got := s.got(); len(got) != 0 {
		t.Fatalf("lines written before a flush: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); len(got) != 1 || got[0] != "a\nb\nc\n" {
		t.Fatalf("after Flush the writes were %q, want one write of the three lines in order", got)
	}
	if err := w.Flush(); err != nil || len(s.got()) != 1 {
		t.Fatalf("an empty Flush wrote: %q, %v", s.got(), err)
	}
}

func TestFullBufferWritesBeforeTheLineThatDoesNotFit(t *testing.T) {
	s := newSink()
	w := New(s, 10, time.Hour)
	for _, l := range []string{"1234\n", "5678\n", "abc\n"} {
		w.Write([]byte(l))
	}
	if got := s.got(); len(got) != 1 || got[0] != "1234\n5678\n" {
		t.Fatalf("writes %q, want the two lines that filled the buffer", got)
	}
	// A line larger than the buffer goes out at once, after what is held.
	w.Write([]byte("a line longer than ten bytes\n"))
	if got := s.got(); len(got) != 3 || got[1] != "abc\n" || got[2] != "a line longer than ten bytes\n" {
		t.Fatalf("writes %q, want the held line and then the long one", got)
	}
}

func TestIntervalFlushesHeldLines(t *testing.T) {
	s := newSink()
	w := New(s, 1<<16, 10*time.Millisecond)
	defer w.Close()
	w.Write([]byte("x\n"))
	w.Write([]byte("y\n"))
	select {
	case <-s.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("held lines were not written within 10 s of a 10 ms flush interval")
	}
	if got := s.got(); len(got) != 1 || got[0] != "x\ny\n" {
		t.Fatalf("timer flush wrote %q", got)
	}
	// The timer re-arms for the next batch.
	w.Write([]byte("z\n"))
	select {
	case <-s.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the second batch was not written by the timer")
	}
	if got := s.got(); len(got) != 2 || got[1] != "z\n" {
		t.Fatalf("second timer flush: writes %q", got)
	}
}

func TestCloseFlushesAndThenPassesThrough(t *testing.T) {
	s := newSink()
	w := New(s, 1024, time.Hour)
	w.Write([]byte("held\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("after\n"))
	if got := s.got(); len(got) != 2 || got[0] != "held\n" || got[1] != "after\n" {
		t.Fatalf("writes %q, want the held line at Close and the later one at once", got)
	}
}

func TestFailedWriteDropsTheBatchAndRecovers(t *testing.T) {
	s := newSink()
	w := New(s, 1024, time.Hour)
	w.Write([]byte("lost\n"))
	s.fail = errors.New("disk full")
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the sink's error")
	}
	s.fail = nil
	w.Write([]byte("kept\n"))
	w.Flush()
	if got := s.got(); len(got) != 1 || got[0] != "kept\n" {
		t.Fatalf("writes %q, want only the batch after the failure", got)
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	s := newSink()
	w := New(s, 512, time.Millisecond)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer %d line %d %s\n", g, i, strings.Repeat("x", i%40))
			}
		})
	}
	wg.Wait()
	w.Close()
	seen := map[string]bool{}
	for _, batch := range s.got() {
		if !strings.HasSuffix(batch, "\n") {
			t.Fatalf("a write ended mid-line: %q", batch)
		}
		for _, l := range strings.Split(strings.TrimSuffix(batch, "\n"), "\n") {
			if seen[l] {
				t.Fatalf("line written twice: %q", l)
			}
			seen[l] = true
		}
	}
	for g := range writers {
		for i := range lines {
			if l := fmt.Sprintf("writer %d line %d %s", g, i, strings.Repeat("x", i%40)); !seen[l] {
				t.Fatalf("line missing or torn: %q", l)
			}
		}
	}
	if len(seen) != writers*lines {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*lines)
	}
}

// TestErrorHandlerGetsTimedFlushFailures: a timed flush has no caller, so
// its error goes to the handler; Write then reports nothing itself, so
// no failure is counted twice.
func TestErrorHandlerGetsTimedFlushFailures(t *testing.T) {
	s := newSink()
	s.fail = errors.New("disk full")
	w := New(s, 16, 5*time.Millisecond)
	errs := make(chan error, 10)
	w.SetErrorHandler(func(err error) { errs <- err })
	if _, err := w.Write([]byte("a line\n")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	select {
	case err := <-errs:
		if err.Error() != "disk full" {
			t.Errorf("handler got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the timed flush's failure never reached the handler")
	}
	// A line larger than the buffer is written through; its failure too.
	if _, err := w.Write([]byte(strings.Repeat("x", 40) + "\n")); err != nil {
		t.Fatalf("Write of a long line: %v", err)
	}
	select {
	case <-errs:
	case <-time.After(5 * time.Second):
		t.Fatal("a direct write's failure never reached the handler")
	}
}
