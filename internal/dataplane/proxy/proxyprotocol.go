package proxy

import (
	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/dataplane/clientconn"
	"github.com/moat-ingress/moat/internal/dataplane/proxyprotocol"
)

// proxiedConn is the request's connection when it started with a PROXY
// header (use-proxy-protocol), else nil.
func (st *reqState) proxiedConn() *proxyprotocol.Conn {
	cc := st.clientConn()
	if cc == nil {
		return nil
	}
	pc, _ := cc.Conn.(*proxyprotocol.Conn)
	return pc
}

// clientConn is the request's connection under the client limits, nil
// when it has none.
func (st *reqState) clientConn() *clientconn.Conn {
	if st.conn == nil {
		return nil
	}
	return st.conn.Client
}

// connTLS is the connection's client-certificate verdict, nil when it
// has none (certs.ConnInfo.Client then verifies every time).
func (st *reqState) connTLS() *certs.ConnInfo {
	if st.conn == nil {
		return nil
	}
	return st.conn.TLS
}
