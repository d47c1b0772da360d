package h1parse

import (
	"bufio"
	"io"
	"net/http"
	"sync"
)

// fixedBody is a Content-Length body. The mutex makes Close safe against a
// concurrent Read, as net/http's body is.
type fixedBody struct {
	mu     sync.Mutex
	br     *bufio.Reader
	n      int64 // bytes left
	err    error // sticky
	closed bool
}

func (b *fixedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *fixedBody) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		b.err = io.EOF
		return n, io.EOF
	}
	if err != nil {
		b.err = unexpected(err)
	}
	return n, b.err
}

// Close reads the rest of the body, as http.ReadRequest's does, so that the
// connection is at the next request.
func (b *fixedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return drain(readerFunc(b.read))
}

// chunkedBody is a strict RFC 9112 chunked body; see the package comment.
type chunkedBody struct {
	mu       sync.Mutex
	br       *bufio.Reader
	req      *http.Request // its Trailer gets the trailer fields
	lim      Limits
	n        int64 // bytes left in the current chunk
	checkEnd bool  // the CRLF after a chunk's data is next
	excess   int64 // framing overhead beyond what the data justifies (net/http's rule)
	err      error // sticky; io.EOF after the trailer section
	closed   bool
}

// net/http's bounds on chunked framing, kept so that h1parse never accepts
// a body net/http rejects.
const (
	maxChunkLine   = 4096
	maxExcess      = 16 << 10
	maxChunkDigits = 15 // sizes stay below 2^60, far from overflowing the excess arithmetic
)

func (c *chunkedBody) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return c.read(p)
}

func (c *chunkedBody) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return drain(readerFunc(c.read))
}

func (c *chunkedBody) read(p []byte) (n int, err error) {
	for c.err == nil {
		if c.checkEnd {
			// Return what we have rather than block for the CRLF.
			if n > 0 && c.br.Buffered() < 2 {
				break
			}
			var crlf [2]byte
			if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
				c.err = unexpected(err)
				break
			}
			if crlf != [2]byte{'\r', '\n'} {
				c.err = bad("missing CRLF after chunk data")
				break
			}
			c.checkEnd = false
		}
		if c.n == 0 {
			if n > 0 && !c.lineBuffered() {
				break
			}
			c.beginChunk()
			continue
		}
		if len(p) == 0 || (n > 0 && c.br.Buffered() == 0) {
			break
		}
		q := p
		if int64(len(q)) > c.n {
			q = q[:c.n]
		}
		m, err := c.br.Read(q)
		n += m
		p = p[m:]
		c.n -= int64(m)
		if err != nil {
			c.err = unexpected(err)
		} else if c.n == 0 {
			c.checkEnd = true
		}
	}
	return n, c.err
}

func (c *chunkedBody) lineBuffered() bool {
	p, _ := c.br.Peek(c.br.Buffered())
	for _, b := range p {
		if b == '\n' {
			return true
		}
	}
	return false
}

func (c *chunkedBody) beginChunk() {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			c.err = bad("chunk line too long")
		} else {
			c.err = unexpected(err)
		}
		return
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		c.err = bad("bare LF in chunk line")
		return
	}
	line = line[:len(line)-2]
	if len(line) >= maxChunkLine {
		c.err = bad("chunk line too long")
		return
	}
	size, ok := parseChunkLine(line)
	if !ok {
		c.err = bad("invalid chunk size line")
		return
	}
	c.excess += int64(len(line)) + 2 - 16 - 2*size
	c.excess = max(c.excess, 0)
	if c.excess > maxExcess {
		c.err = bad("too much chunk framing overhead")
		return
	}
	c.n = size
	if size == 0 {
		if err := c.readTrailer(); err != nil {
			c.err = err
			return
		}
		c.err = io.EOF
	}
}

// readTrailer reads the trailer section after the last chunk into req.Trailer
// (every field, as net/http does, not only declared ones).
func (c *chunkedBody) readTrailer() error {
	p, err := c.br.Peek(2)
	if len(p) == 2 && p[0] == '\r' && p[1] == '\n' {
		c.br.Discard(2)
		return nil
	}
	if len(p) < 2 {
		return unexpected(err)
	}
	s, err := readSection(c.br, c.lim, false)
	if err != nil {
		return err
	}
	t := make(http.Header)
	if err := parseFields(s, t, nil); err != nil {
		return err
	}
	if c.req.Trailer == nil {
		c.req.Trailer = t
		return nil
	}
	for k, vv := range t {
		c.req.Trailer[k] = vv
	}
	return nil
}

// parseChunkLine parses chunk-size [ chunk-ext ] (RFC 9112 section 7.1).
func parseChunkLine(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == maxChunkDigits {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	if i == 0 || i < len(line) && line[i] != ';' {
		// No BWS before the first ';': net/http rejects it.
		return 0, false
	}
	return n, validChunkExt(line[i:])
}

// validChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
func validChunkExt(b []byte) bool {
	skipBWS := func() {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
	}
	token := func() bool {
		i := 0
		for i < len(b) && tchar[b[i]] {
			i++
		}
		b = b[i:]
		return i > 0
	}
	for len(b) > 0 {
		skipBWS()
		if len(b) == 0 || b[0] != ';' {
			return false
		}
		b = b[1:]
		skipBWS()
		if !token() {
			return false
		}
		save := b
		skipBWS()
		if len(b) == 0 || b[0] != '=' {
			b = save
			if len(b) > 0 && b[0] != ' ' && b[0] != '\t' && b[0] != ';' {
				return false
			}
			continue
		}
		b = b[1:]
		skipBWS()
		if len(b) > 0 && b[0] == '"' {
			if b = quotedString(b); b == nil {
				return false
			}
		} else if !token() {
			return false
		}
	}
	return true
}

// quotedString returns b after the quoted-string it starts with, or nil.
func quotedString(b []byte) []byte {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			if i+1 == len(b) {
				return b[:0]
			}
			return b[i+1:]
		case c == '\\':
			i++
			if i == len(b) || !qdOK(b[i]) && b[i] != '"' && b[i] != '\\' {
				return nil
			}
		case !qdOK(c):
			return nil
		}
	}
	return nil
}

// qdOK is qdtext without '"' and '\': HTAB, SP, VCHAR, obs-text.
func qdOK(c byte) bool { return c == '\t' || c >= ' ' && c != 0x7f && c != '"' && c != '\\' }

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// drain reads r to its end; io.EOF is the good end.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
