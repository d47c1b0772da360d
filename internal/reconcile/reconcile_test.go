package reconcile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// TestBurstIsCoalesced: a burst of changes inside the hold-off produces
// one pass that sees the last state, and a refused config is reported.
func TestBurstIsCoalesced(t *testing.T) {
	st := store.New()
	var mu sync.Mutex
	var versions []uint64
	passes := make(chan Result, 10)
	fail := false
	l := &Loop{
		Store: st,
		Apply: func(*routecfg.Config) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return errors.New("refused")
			}
			return nil
		},
		Observe: func(r Result) {
			mu.Lock()
			versions = append(versions, r.Snapshot.Version)
			mu.Unlock()
			passes <- r
		},
		HoldOff:  50 * time.Millisecond,
		MaxDelay: 2 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-passes // the initial pass
	if !l.Applied() {
		t.Fatal("not applied after the first pass")
	}
	for i := 0; i < 5; i++ {
		st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: string(rune('a' + i))}}})
		time.Sleep(5 * time.Millisecond)
	}
	r := <-passes
	if r.Snapshot.Version != 5 {
		t.Errorf("coalesced pass saw version %d, want 5", r.Snapshot.Version)
	}
	select {
	case r := <-passes:
		t.Errorf("a second pass ran for the same burst (version %d)", r.Snapshot.Version)
	case <-time.After(200 * time.Millisecond):
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	st.Upsert(store.Object{Obj: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "z"}}})
	if r := <-passes; r.ApplyErr == nil {
		t.Errorf("a refused apply was not reported")
	}
	if !l.Applied() {
		t.Errorf("Applied turned false after a refused config; the last good one still serves")
	}
}
