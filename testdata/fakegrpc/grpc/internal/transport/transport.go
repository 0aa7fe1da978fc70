// Package transport is a stand-in for grpc-go's, with the names the built-in spec reads but
// an in-memory connection: its http2Server.conn can never hold a socket.
package transport

// memConn is a connection without a socket (nothing in it leads to a net.Conn).
type memConn struct {
	buf []byte
}

// ServerTransport is the transport handleStream gets (an interface, as in grpc-go).
type ServerTransport interface {
	Drain(reason string)
}

type http2Server struct {
	conn *memConn
}

func (t *http2Server) Drain(reason string) { t.conn.buf = append(t.conn.buf, reason...) }

// ServerStream is one RPC on the server.
type ServerStream struct {
	id     uint32
	method string
}

// NewServer makes a transport over an in-memory connection and one stream on it.
func NewServer(method string) (ServerTransport, *ServerStream) {
	return &http2Server{conn: &memConn{}}, &ServerStream{id: 1, method: method}
}
