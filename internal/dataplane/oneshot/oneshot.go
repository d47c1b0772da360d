// Package oneshot holds an upstream connection used for a single
// exchange (FastCGI without keep-alive, HTTP/1.0): it closes when the
// request's context ends, when the exchange fails, or when the response
// body is closed, whichever comes first.
package oneshot

import (
	"context"
	"io"
	"net"
	"sync"
)

// Conn is a connection bound to one request's context.
type Conn struct {
	net.Conn
	ctx  context.Context
	stop func() bool
	once sync.Once
}

// Watch closes c when ctx ends, until Fail or Release.
func Watch(ctx context.Context, c net.Conn) *Conn {
	return &Conn{Conn: c, ctx: ctx, stop: context.AfterFunc(ctx, func() { c.Close() })}
}

// Release stops watching and closes the connection; later calls do
// nothing.
func (c *Conn) Release() {
	c.once.Do(func() {
		c.stop()
		c.Conn.Close()
	})
}

// Fail releases the connection and returns the error to report: the
// context's when it ended (the close it caused is what err shows), else
// err.
func (c *Conn) Fail(err error) error {
	c.Release()
	if ctxErr := c.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

// Body reads r and releases c when closed, once.
func (c *Conn) Body(r io.Reader) io.ReadCloser { return &body{r: r, c: c} }

type body struct {
	r io.Reader
	c *Conn
}

func (b *body) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *body) Close() error {
	var err error
	if rc, ok := b.r.(io.Closer); ok {
		err = rc.Close()
	}
	b.c.Release()
	return err
}
