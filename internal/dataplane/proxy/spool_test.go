package proxy

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSpoolBody(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, tc := range []struct {
		name        string
		memMax, max int64
		wantErr     error
		wantFile    bool
	}{
		{"in memory", 1 << 20, 0, nil, false},
		{"exactly the memory size", int64(len(body)), 0, nil, false},
		{"spilled to a file", 100, 0, nil, true},
		{"at the limit", 100, int64(len(body)), nil, true},
		{"over the limit in memory", 1 << 20, int64(len(body)) - 1, errBodyTooLarge, false},
		{"over the limit in the file", 100, int64(len(body)) - 1, errBodyTooLarge, false},
	} {
		// proxy-body-size is the client body's (clientBody), whoever reads it.
		src := &clientBody{src: io.NopCloser(iotest.HalfReader(strings.NewReader(body))), max: tc.max}
		s, err := spoolBody(src, tc.memMax)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if (s.file != nil) != tc.wantFile || s.size != int64(len(body)) {
			t.Errorf("%s: file %v, size %d", tc.name, s.file != nil, s.size)
		}
		// Every attempt reads it whole from the start.
		for i := 0; i < 2; i++ {
			got, err := io.ReadAll(s.reader())
			if err != nil || string(got) != body {
				t.Errorf("%s: read %d: %d bytes, %v", tc.name, i, len(got), err)
			}
		}
		s.close()
	}
}

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
		r := newReadAhead(src, tc.memMax, tc.fileMax)
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
	r := newReadAhead(io.NopCloser(io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("reset")))), 4, 0)
	got, err := io.ReadAll(r)
	if string(got) != "partial" || err == nil || err.Error() != "reset" {
		t.Errorf("upstream error: %q %v", got, err)
	}
	r.Close()
	// Closing early stops the reader goroutine.
	r = newReadAhead(io.NopCloser(bytes.NewReader(body)), 16, 0)
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
