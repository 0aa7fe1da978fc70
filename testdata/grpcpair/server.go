//go:build !clientonly

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// pairServer is the handler type of the service.
type pairServer interface{}

type server struct {
	mu      sync.Mutex
	blocked int
	release chan struct{}
}

func (s *server) enter() {
	s.mu.Lock()
	s.blocked++
	s.mu.Unlock()
}

// blockUnary is the handler of Pair/Block: it waits for the release.
//
//go:noinline
func (s *server) blockUnary(ctx context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	s.enter()
	<-s.release
	return wrapperspb.String("released " + req.GetValue()), nil
}

// blockStream is the handler of Pair/Chat: it reads one message and sends the response
// headers (so the client then waits for a message, not for headers), then waits for the release.
//
//go:noinline
func (s *server) blockStream(stream grpc.ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	if err := stream.SendHeader(metadata.Pairs("periscope", "waiting")); err != nil {
		return err
	}
	s.enter()
	<-s.release
	return stream.SendMsg(wrapperspb.String("released " + in.GetValue()))
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked
}

var desc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*pairServer)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "Block",
			Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				return srv.(*server).blockUnary(ctx, in)
			},
		},
		{
			MethodName: "Blocked",
			Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				return wrapperspb.Int64(int64(srv.(*server).count())), nil
			},
		},
	},
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "Chat",
			ServerStreams: true,
			ClientStreams: true,
			Handler: func(srv interface{}, stream grpc.ServerStream) error {
				return srv.(*server).blockStream(stream)
			},
		},
	},
}

func runServer() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	s := &server{release: make(chan struct{})}
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(s.release)
	}()
	g := grpc.NewServer()
	g.RegisterService(&desc, s)
	fmt.Printf("ready %d listening %s\n", os.Getpid(), lis.Addr())
	if err := g.Serve(lis); err != nil {
		fail(err)
	}
}
