//go:build unix

package h1

import (
	"net"
	"syscall"
)

// rawConn is nc's file descriptor access, for reads that must not wait.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// tryRead is the RawConn.Read callback: one non-blocking read into
// c.tryBuf (the descriptor is non-blocking), never waiting.
func (c *h1Conn) tryRead(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.tryBuf)
		if err == syscall.EINTR {
			continue
		}
		c.tryN, c.tryErr = max(n, 0), err
		return true
	}
}

func wouldBlock(err error) bool { return err == syscall.EAGAIN }
