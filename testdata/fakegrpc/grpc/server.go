// Package grpc is a stand-in for grpc-go with a Server.handleStream like the real one's,
// whose transport has no socket: the built-in spec's gRPC server table can never link here.
package grpc

import "google.golang.org/grpc/internal/transport"

// Server runs handlers.
type Server struct {
	Handler func(method string)
}

// handleStream runs the handler of one stream, as grpc-go's does.
//
//go:noinline
func (s *Server) handleStream(t transport.ServerTransport, stream *transport.ServerStream) {
	s.Handler("/fake/Block")
	t.Drain("done")
	_ = stream
}

// Serve handles one stream on an in-memory transport.
func (s *Server) Serve() {
	t, st := transport.NewServer("/fake/Block")
	s.handleStream(t, st)
}
