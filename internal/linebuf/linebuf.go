// Package linebuf batches log lines into fewer writes.
//
// The access log writes one line per request. Unbuffered, that is one
// write(2) per request, 4% of moat's CPU under load in a profile of the
// bench kit (the formatting itself is 0.6%). A Writer gathers whole lines
// and writes them together when its buffer fills or Interval after the
// first line it holds, like nginx's access_log buffer= and flush=
// parameters. A line is never split across writes.
package linebuf

import (
	"io"
	"sync"
	"time"
)

// Writer buffers lines for an underlying writer. It is safe for
// concurrent use; each Write must be whole lines.
type Writer struct {
	w        io.Writer
	size     int
	interval time.Duration

	mu      sync.Mutex
	onError func(error)
	buf     []byte
	timer   *time.Timer
	armed   bool
	closed  bool
}

// New returns a Writer that writes to w when size bytes are held or
// interval after the first held line, whichever comes first.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	b := &Writer{w: w, size: size, interval: interval, buf: make([]byte, 0, size)}
	b.timer = time.AfterFunc(time.Hour, func() { _ = b.Flush() })
	b.timer.Stop()
	return b
}

// SetErrorHandler makes failed writes go to f (called with the Writer's
// lock held, so f must not write to it): those of timed flushes, which
// have no caller to return to, and those of Write, which then returns no
// error. Without it a timed flush's error is lost.
func (b *Writer) SetErrorHandler(f func(error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onError = f
}

// Write holds p (whole lines) for a later write. A p larger than the
// buffer is written at once, after what is held. Once closed, Write
// passes p straight through.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.report(p)
	}
	if len(b.buf)+len(p) > b.size {
		if err := b.flushLocked(); err != nil && b.onError == nil {
			return 0, err
		}
		if len(p) > b.size {
			return b.report(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.armed {
		b.armed = true
		b.timer.Reset(b.interval)
	}
	return len(p), nil
}

// Flush writes what is held.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *Writer) flushLocked() error {
	if b.armed {
		b.armed = false
		b.timer.Stop()
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	// A failed write drops the batch, as an unbuffered log would have
	// dropped its lines; the next batch tries again.
	b.buf = b.buf[:0]
	if err != nil && b.onError != nil {
		b.onError(err)
	}
	return err
}

// report writes p through, passing an error to the handler if any.
func (b *Writer) report(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if err != nil && b.onError != nil {
		b.onError(err)
		return len(p), nil
	}
	return n, err
}

// Close writes what is held; later writes go straight through.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	b.closed = true
	return err
}
