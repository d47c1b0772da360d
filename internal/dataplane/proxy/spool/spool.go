// Package spool holds the bodies that nginx buffers, the same way: in
// memory up to a size, then in a temporary file (unlinked at once, so
// nothing is left behind).
package spool

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// The request side is proxy-request-buffering with
// client-body-buffer-size; the response side proxy-buffering with
// proxy-buffers-number × proxy-buffer-size and proxy-max-temp-file-size.

// tempFile is an anonymous temporary file.
func tempFile() (*os.File, error) {
	f, err := os.CreateTemp("", "moat-body-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) //nolint:errcheck // the open file stays usable; a leftover name is harmless
	return f, nil
}

// Body is a request body read whole before the upstream is contacted:
// the first memMax bytes in memory, the rest in a temporary file.
type Body struct {
	mem  []byte
	file *os.File
	size int64
}

// Read reads src to its end; a body over proxy-body-size fails
// there (clientBody), before the upstream is contacted, as nginx.
func Read(src io.Reader, memMax int64) (*Body, error) {
	s := &Body{}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(src, memMax+1))
	s.size = n
	if err != nil {
		return nil, err
	}
	if n <= memMax {
		s.mem = buf.Bytes()
		return s, nil
	}
	s.mem = buf.Bytes()[:memMax]
	f, err := tempFile()
	if err != nil {
		return nil, err
	}
	s.file = f
	if _, err := f.Write(buf.Bytes()[memMax:]); err != nil {
		s.Close()
		return nil, err
	}
	m, err := io.Copy(f, src)
	s.size += m
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Reader reads the body from its start (each attempt gets its own).
func (s *Body) Reader() io.Reader {
	if s.file == nil {
		return bytes.NewReader(s.mem)
	}
	return io.MultiReader(bytes.NewReader(s.mem), io.NewSectionReader(s.file, 0, s.size-int64(len(s.mem))))
}

func (s *Body) Close() {
	if s != nil && s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// ReadAhead reads an upstream response body ahead of the client: up to
// memMax unread bytes in memory, then up to fileMax bytes in a temporary
// file, as nginx's proxy_buffers and proxy_max_temp_file_size; once both
// are full the upstream waits for the client, as nginx then does.
type ReadAhead struct {
	src             io.ReadCloser
	memMax, fileMax int64

	mu   sync.Mutex
	cond sync.Cond
	mem  []byte // unread bytes older than anything in the file
	// While spilled, new bytes go to the file (at fw); the client reads
	// them from fr. The writer goes back to memory once fr == fw.
	file    *os.File
	fw, fr  int64
	spilled bool
	err     error // the upstream's last error (io.EOF at the end)
	closed  bool
	done    chan struct{}
}

func NewReadAhead(src io.ReadCloser, memMax, fileMax int64) *ReadAhead {
	r := &ReadAhead{src: src, memMax: max(memMax, 1), fileMax: fileMax, done: make(chan struct{})}
	r.cond.L = &r.mu
	go r.fill()
	return r
}

func (r *ReadAhead) fill() {
	defer close(r.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.src.Read(buf)
		if n > 0 && !r.store(buf[:n]) {
			return
		}
		if err != nil {
			r.mu.Lock()
			r.err = err
			r.cond.Broadcast()
			r.mu.Unlock()
			return
		}
	}
}

// store keeps d for the client; false when the body was closed.
func (r *ReadAhead) store(d []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(d) > 0 {
		switch {
		case r.closed:
			return false
		case r.spilled && r.fr == r.fw:
			// The client has read the file: start again in memory.
			r.spilled, r.fr, r.fw = false, 0, 0
		case !r.spilled && int64(len(r.mem)) < r.memMax:
			k := min(int64(len(d)), r.memMax-int64(len(r.mem)))
			r.mem = append(r.mem, d[:k]...)
			d = d[k:]
			r.cond.Broadcast()
		case r.fw < r.fileMax:
			if r.file == nil {
				f, err := tempFile()
				if err != nil {
					r.fileMax = 0 // no file: wait for the client instead
					continue
				}
				r.file = f
			}
			r.spilled = true
			k := min(int64(len(d)), r.fileMax-r.fw)
			off := r.fw
			r.mu.Unlock()
			_, err := r.file.WriteAt(d[:k], off)
			r.mu.Lock()
			if err != nil {
				r.err = err
				r.cond.Broadcast()
				return false
			}
			r.fw += k
			d = d[k:]
			r.cond.Broadcast()
		default:
			r.cond.Wait()
		}
	}
	return true
}

func (r *ReadAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		switch {
		case len(r.mem) > 0:
			n := copy(p, r.mem)
			r.mem = r.mem[n:]
			if len(r.mem) == 0 {
				r.mem = r.mem[:0:0]
			}
			r.cond.Broadcast()
			return n, nil
		case r.spilled && r.fr < r.fw:
			k := min(int64(len(p)), r.fw-r.fr)
			off := r.fr
			r.mu.Unlock()
			n, err := r.file.ReadAt(p[:k], off)
			r.mu.Lock()
			r.fr += int64(n)
			r.cond.Broadcast()
			if err == io.EOF {
				err = nil
			}
			return n, err
		case r.err != nil:
			return 0, r.err
		case r.closed:
			return 0, os.ErrClosed
		}
		r.cond.Wait()
	}
}

// Close stops reading the upstream and waits for the reader goroutine,
// so nothing touches the request's state afterwards.
func (r *ReadAhead) Close() error {
	r.mu.Lock()
	r.closed = true
	r.cond.Broadcast()
	r.mu.Unlock()
	err := r.src.Close()
	<-r.done
	if r.file != nil {
		r.file.Close()
	}
	return err
}

// Size is the body's length.
func (s *Body) Size() int64 { return s.size }

// InFile reports whether part of the body went to a temporary file.
func (s *Body) InFile() bool { return s.file != nil }
