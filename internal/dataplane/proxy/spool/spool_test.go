package spool

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAhead: the whole upstream body is read before the client reads
// when it fits in memory and file; the client then gets it unchanged, and
// the upstream's error comes last.
func TestReadAhead(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefghij"), 50_000) // 500 KB
	for _, tc := range []struct {
		name            string
		memMax, fileMax int64
		readsAhead      bool
	}{
		{"memory and file", 16 << 10, 1 << 30, true},
		{"memory only", 16 << 10, 0, false},
		{"small file", 16 << 10, 64 << 10, false},
	} {
		src := &countingBody{r: bytes.NewReader(body)}
		r := NewReadAhead(src, tc.memMax, tc.fileMax)
		if tc.readsAhead {
			<-r.done // the upstream was read to its end without the client
			if src.n != int64(len(body)) {
				t.Errorf("%s: %d bytes read ahead", tc.name, src.n)
			}
		}
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(r, 100)))
		rest, err2 := io.ReadAll(r)
		got = append(got, rest...)
		if err != nil || err2 != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %d bytes, %v %v", tc.name, len(got), err, err2)
		}
		if err := r.Close(); err != nil || !src.closed {
			t.Errorf("%s: close %v %v", tc.name, err, src.closed)
		}
	}
	// An upstream error reaches the client after the data before it.
	r := NewReadAhead(io.NopCloser(io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("reset")))), 4, 0)
	got, err := io.ReadAll(r)
	if string(got) != "partial" || err == nil || err.Error() != "reset" {
		t.Errorf("upstream error: %q %v", got, err)
	}
	r.Close()
	// Closing early stops the reader goroutine.
	r = NewReadAhead(io.NopCloser(bytes.NewReader(body)), 16, 0)
	r.Close()
	<-r.done
}

type countingBody struct {
	r      io.Reader
	n      int64
	closed bool
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingBody) Close() error { c.closed = true; return nil }
