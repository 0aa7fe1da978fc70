// Command grpcpair is one side of a gRPC pair whose RPCs stay in flight: the server's
// handlers block until a line arrives on its stdin, so a snapshot of both processes shows
// the client goroutine waiting in the RPC and the server goroutine handling it.
//
//	grpcpair server                      prints "ready PID listening ADDR"
//	grpcpair client ADDR [unary|stream|both [N]]
//	                                     prints "ready PID" once its RPCs are being handled
//	                                     (and the server has N handlers blocked in all)
//
// The service is described by hand (a grpc.ServiceDesc, messages from wrapperspb), so no
// generated code is needed.
package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const service = "periscope.test.Pair"

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

// callUnary makes the Pair/Block RPC; it stays in flight until the server is released.
//
//go:noinline
func callUnary(conn *grpc.ClientConn, done chan<- error) {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(context.Background(), "/"+service+"/Block", wrapperspb.String(fmt.Sprintf("unary %d", os.Getpid())), out)
	done <- err
}

// callStream opens Pair/Chat, sends one message and waits for the answer.
//
//go:noinline
func callStream(conn *grpc.ClientConn, done chan<- error) {
	sd := &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}
	stream, err := conn.NewStream(context.Background(), sd, "/"+service+"/Chat")
	if err != nil {
		done <- err
		return
	}
	if err := stream.SendMsg(wrapperspb.String(fmt.Sprintf("stream %d", os.Getpid()))); err != nil {
		done <- err
		return
	}
	out := new(wrapperspb.StringValue)
	done <- stream.RecvMsg(out)
}

func runClient(addr, mode string, atLeast int) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	done := make(chan error, 2)
	want := 0
	if mode == "unary" || mode == "both" {
		go callUnary(conn, done)
		want++
	}
	if mode == "stream" || mode == "both" {
		go callStream(conn, done)
		want++
	}
	// Ready once the server has this many handlers blocked (ours, plus those of clients
	// started before us: the test says how many in all).
	if atLeast < want {
		atLeast = want
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := new(wrapperspb.Int64Value)
		if err := conn.Invoke(context.Background(), "/"+service+"/Blocked", wrapperspb.String(""), n); err != nil {
			fail(err)
		}
		if n.GetValue() >= int64(atLeast) {
			break
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the server has %d handlers blocked, want %d", n.GetValue(), atLeast))
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for i := 0; i < want; i++ {
		if err := <-done; err != nil {
			fail(err)
		}
	}
	fmt.Println("done")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grpcpair:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: grpcpair server | client ADDR [unary|stream|both]"))
	}
	switch os.Args[1] {
	case "server":
		runServer()
	case "client":
		if len(os.Args) < 3 {
			fail(fmt.Errorf("usage: grpcpair client ADDR [unary|stream|both]"))
		}
		mode, atLeast := "both", 0
		if len(os.Args) > 3 {
			mode = os.Args[3]
		}
		if len(os.Args) > 4 {
			n, err := strconv.Atoi(os.Args[4])
			if err != nil {
				fail(err)
			}
			atLeast = n
		}
		runClient(os.Args[2], mode, atLeast)
	default:
		fail(fmt.Errorf("unknown role %q", os.Args[1]))
	}
}
