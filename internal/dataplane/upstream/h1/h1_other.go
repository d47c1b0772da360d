//go:build !unix

package h1

import (
	"net"
	"syscall"
)

// rawConn: non-waiting reads are implemented for Unix only; elsewhere
// every body read that needs the socket counts as a wait, and idle
// connections are not probed before use.
func rawConn(net.Conn) syscall.RawConn { return nil }

func (c *h1Conn) tryRead(uintptr) bool { return true }

func wouldBlock(error) bool { return true }
