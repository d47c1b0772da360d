package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// stepper is a loop whose passes, clock and timers the test drives: Apply
// blocks until the test lets it finish, after hands the test each timer
// the loop arms, and the clock only moves when the test moves it.
type stepper struct {
	t       *testing.T
	st      *store.Store
	l       *Loop
	passes  chan Result
	gate    chan error    // one value lets one Apply return
	entered chan struct{} // Apply was called: the pass has its snapshot
	timers  chan timer

	mu  sync.Mutex
	now time.Time
}

type timer struct {
	d    time.Duration
	fire chan time.Time
}

const bound = 5 * time.Second // a ceiling for a hung loop, never a measure

func newStepper(t *testing.T) *stepper {
	s := &stepper{t: t, st: store.New(), passes: make(chan Result, 10), gate: make(chan error), entered: make(chan struct{}, 1), timers: make(chan timer, 10),
		now: time.Unix(1e9, 0)}
	s.l = &Loop{
		Store: s.st,
		Apply: func(*routecfg.Config) error {
			s.entered <- struct{}{}
			return <-s.gate
		},
		Observe:  func(r Result) { s.passes <- r },
		HoldOff:  100 * time.Millisecond,
		MaxDelay: 500 * time.Millisecond,
		clock: func() time.Time {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.now
		},
		after: func(d time.Duration) <-chan time.Time {
			tm := timer{d: d, fire: make(chan time.Time, 1)}
			s.timers <- tm
			return tm.fire
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.l.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		for {
			select {
			case s.gate <- nil: // a pass waiting to apply
				continue
			case <-s.entered:
				continue
			case <-done:
			}
			return
		}
	})
	s.finish(nil) // the initial pass
	s.pass(0)
	return s
}

func (s *stepper) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

func (s *stepper) change(name string) {
	s.st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: name}}})
}

// started waits for a pass to reach Apply, having taken its snapshot.
func (s *stepper) started() {
	s.t.Helper()
	select {
	case <-s.entered:
	case tm := <-s.timers:
		s.t.Fatalf("the loop armed a %v timer instead of passing", tm.d)
	case <-time.After(bound):
		s.t.Fatal("no pass started")
	}
}

// finish lets the pass in progress apply, with err as the result.
func (s *stepper) finish(err error) {
	s.t.Helper()
	s.started()
	s.release(err)
}

func (s *stepper) release(err error) {
	s.t.Helper()
	select {
	case s.gate <- err:
	case <-time.After(bound):
		s.t.Fatal("the pass did not take its result")
	}
}

// pass returns the next finished pass, which must have seen version v.
func (s *stepper) pass(v uint64) Result {
	s.t.Helper()
	select {
	case r := <-s.passes:
		if r.Snapshot.Version != v {
			s.t.Fatalf("pass saw version %d, want %d", r.Snapshot.Version, v)
		}
		return r
	case <-time.After(bound):
		s.t.Fatal("no pass finished")
	}
	return Result{}
}

// timer returns the next timer the loop arms, which must be of d.
func (s *stepper) timer(d time.Duration) timer {
	s.t.Helper()
	select {
	case tm := <-s.timers:
		if tm.d != d {
			s.t.Fatalf("timer of %v, want %v", tm.d, d)
		}
		return tm
	case <-time.After(bound):
		s.t.Fatal("no timer armed")
	}
	return timer{}
}

// TestLeadingAndTrailingEdge: a change after a quiet spell is reconciled at
// once, with no hold-off; changes made during that pass are coalesced into
// one more pass once they settle; then the loop is idle again.
func TestLeadingAndTrailingEdge(t *testing.T) {
	s := newStepper(t)
	s.change("a")
	s.finish(nil) // no timer: the pass started at once
	s.pass(1)

	s.change("b")
	// The pass for b is blocked in Apply while c and d arrive.
	s.started()
	s.change("c")
	s.change("d")
	s.release(nil)
	s.pass(2)
	tm := s.timer(100 * time.Millisecond) // the trailing hold-off
	s.change("e")                         // restarts the quiet window
	tm2 := s.timer(100 * time.Millisecond)
	tm.fire <- time.Time{} // a stale timer does nothing...
	_ = tm
	tm2.fire <- time.Time{}
	s.finish(nil)
	s.pass(5) // ...one pass for c, d and e

	// Idle again: the next change passes at once.
	s.change("f")
	s.finish(nil)
	s.pass(6)
	select {
	case r := <-s.passes:
		t.Errorf("an extra pass ran (version %d)", r.Snapshot.Version)
	case tm := <-s.timers:
		t.Errorf("a %v timer was armed while idle", tm.d)
	default:
	}
}

// TestTrailingEdgeMaxDelay: a steady trickle of changes cannot postpone the
// trailing pass beyond MaxDelay.
func TestTrailingEdgeMaxDelay(t *testing.T) {
	s := newStepper(t)
	s.change("a")
	s.started()
	s.change("b")
	s.release(nil)
	s.pass(1)
	s.timer(100 * time.Millisecond)
	for i := range 4 {
		s.advance(90 * time.Millisecond)
		s.change(fmt.Sprint("t", i))
		s.timer(100 * time.Millisecond)
	}
	s.advance(90 * time.Millisecond)
	s.change("t4")
	s.timer(50 * time.Millisecond) // 450 ms gone: only 50 left
	s.advance(50 * time.Millisecond)
	s.change("t5")
	s.finish(nil) // 500 ms reached: passes without a timer firing
	s.pass(8)
}

// TestRefusedConfig: a refused configuration is reported, and the loop
// still counts as applied (the last good one serves).
func TestRefusedConfig(t *testing.T) {
	s := newStepper(t)
	if !s.l.Applied() {
		t.Fatal("not applied after the first pass")
	}
	s.change("a")
	s.finish(errors.New("refused"))
	if r := s.pass(1); r.ApplyErr == nil {
		t.Errorf("a refused apply was not reported")
	}
	if !s.l.Applied() {
		t.Errorf("Applied turned false after a refused config; the last good one still serves")
	}
}
