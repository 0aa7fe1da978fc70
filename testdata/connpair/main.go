// Command connpair is a client and a server that talk HTTP/1.1 and gRPC over connections
// wrapped the way services wrap them (timeouts, metrics, multiplexers), over TCP or a Unix
// socket. Every call stays in flight until the server's stdin gets a line, so a snapshot of
// both shows each client goroutine waiting and the server goroutine handling its call.
//
//	connpair server -net tcp|unix -wrap none|embed|named|deep -calls N
//	    prints "ready PID listening HTTPADDR GRPCADDR" (socket paths for -net unix), then
//	    "handling http" / "handling grpc" per call, then "all in flight" once it has N of
//	    each, when it also starts main.afterward (a user function to capture)
//	connpair client -net tcp|unix -wrap … -http ADDR -grpc ADDR -calls N
//	    makes N HTTP calls and N gRPC unary calls, each in its own goroutine; prints "ready PID"
//	connpair pipe
//	    one process: an HTTP client and server over net.Pipe (no socket behind the connection);
//	    prints "ready PID" once the handler runs
//
// Wrappers: embed is a struct embedding net.Conn; named holds it in a named field; deep is
// an embed around a named, two levels down.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var (
	network = flag.String("net", "tcp", "tcp or unix")
	wrapped = flag.String("wrap", "none", "none, embed, named or deep")
	calls   = flag.Int("calls", 1, "calls of each kind")
	httpTo  = flag.String("http", "", "client: the server's HTTP address")
	grpcTo  = flag.String("grpc", "", "client: the server's gRPC address")
)

const service = "periscope.test.Conn"

// embedConn is a wrapper that embeds the connection (as timeout and metrics wrappers do).
type embedConn struct {
	net.Conn
	reads atomic.Int64
}

func (c *embedConn) Read(b []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(b)
}

// namedConn is a wrapper that holds the connection in a named field.
type namedConn struct {
	inner net.Conn
	label string
}

func (c *namedConn) Read(b []byte) (int, error)         { return c.inner.Read(b) }
func (c *namedConn) Write(b []byte) (int, error)        { return c.inner.Write(b) }
func (c *namedConn) Close() error                       { return c.inner.Close() }
func (c *namedConn) LocalAddr() net.Addr                { return c.inner.LocalAddr() }
func (c *namedConn) RemoteAddr() net.Addr               { return c.inner.RemoteAddr() }
func (c *namedConn) SetDeadline(t time.Time) error      { return c.inner.SetDeadline(t) }
func (c *namedConn) SetReadDeadline(t time.Time) error  { return c.inner.SetReadDeadline(t) }
func (c *namedConn) SetWriteDeadline(t time.Time) error { return c.inner.SetWriteDeadline(t) }

func wrap(c net.Conn) net.Conn {
	switch *wrapped {
	case "embed":
		return &embedConn{Conn: c}
	case "named":
		return &namedConn{inner: c, label: "named"}
	case "deep":
		return &embedConn{Conn: &namedConn{inner: c, label: "deep"}}
	}
	return c
}

// wrapListener hands out wrapped connections, as a server's own listener would.
type wrapListener struct{ net.Listener }

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrap(c), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "connpair:", err)
	os.Exit(1)
}

func listen(dir, name string) net.Listener {
	addr := "127.0.0.1:0"
	if *network == "unix" {
		addr = filepath.Join(dir, name)
	}
	l, err := net.Listen(*network, addr)
	if err != nil {
		fail(err)
	}
	return wrapListener{l}
}

type server struct {
	release chan struct{}
	mu      sync.Mutex
	http    int
	grpc    int
}

func (s *server) entered(kind string) {
	s.mu.Lock()
	if kind == "http" {
		s.http++
	} else {
		s.grpc++
	}
	all := s.http == *calls && s.grpc == *calls
	s.mu.Unlock()
	fmt.Printf("handling %s\n", kind)
	if all {
		go afterward(2 * *calls)
		fmt.Println("all in flight")
	}
}

// sink keeps afterward's argument live while it waits.
var sink atomic.Int64

// afterward is a user function whose frame appears once every call is in flight (after the
// goroutines of the calls, so after their built-in frames in the runtime's goroutine order).
//
//go:noinline
func afterward(inFlight int) {
	forever := make(chan int)
	sink.Store(int64(inFlight + <-forever))
}

// blockGrpc is the gRPC handler: it waits for the release.
//
//go:noinline
func (s *server) blockGrpc(req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	s.entered("grpc")
	<-s.release
	return wrapperspb.String("released " + req.GetValue()), nil
}

type connService interface{}

func runServer() {
	dir, err := os.MkdirTemp("", "connpair-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	s := &server{release: make(chan struct{})}
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(s.release)
	}()
	hl, gl := listen(dir, "http.sock"), listen(dir, "grpc.sock")
	go func() {
		fail(http.Serve(hl, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.entered("http")
			<-s.release
			fmt.Fprintln(w, "released")
		})))
	}()
	g := grpc.NewServer()
	g.RegisterService(&grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*connService)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Block",
			Handler: func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				return srv.(*server).blockGrpc(in)
			},
		}},
	}, s)
	fmt.Printf("ready %d listening %s %s\n", os.Getpid(), hl.Addr(), gl.Addr())
	fail(g.Serve(gl))
}

func dialer(addr string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, *network, addr)
		if err != nil {
			return nil, err
		}
		return wrap(c), nil
	}
}

// callHTTP is one HTTP call that stays in flight.
//
//go:noinline
func callHTTP(client *http.Client, done chan<- error) {
	resp, err := client.Get("http://connpair/block")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	done <- err
}

// callGrpc is one gRPC unary call that stays in flight.
//
//go:noinline
func callGrpc(conn *grpc.ClientConn, done chan<- error) {
	out := new(wrapperspb.StringValue)
	done <- conn.Invoke(context.Background(), "/"+service+"/Block", wrapperspb.String("hello"), out)
}

func runClient() {
	hd := dialer(*httpTo)
	client := &http.Client{Transport: &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return hd(ctx, "") },
		MaxConnsPerHost:     0,
		MaxIdleConnsPerHost: *calls,
	}}
	conn, err := grpc.NewClient("passthrough:///connpair",
		grpc.WithContextDialer(dialer(*grpcTo)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	done := make(chan error, 2**calls)
	for i := 0; i < *calls; i++ {
		go callHTTP(client, done)
		go callGrpc(conn, done)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for i := 0; i < 2**calls; i++ {
		if err := <-done; err != nil {
			fail(err)
		}
	}
	fmt.Println("done")
}

// pipeListener accepts the server ends of in-memory pipes.
type pipeListener struct{ conns chan net.Conn }

func (l pipeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, errors.New("closed")
	}
	return c, nil
}
func (l pipeListener) Close() error   { return nil }
func (l pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func runPipe() {
	l := pipeListener{conns: make(chan net.Conn)}
	release := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(release)
	}()
	entered := make(chan struct{})
	go func() {
		fail(http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
		})))
	}()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			a, b := net.Pipe()
			l.conns <- b
			return a, nil
		},
	}}
	done := make(chan error, 1)
	go callHTTP(client, done)
	<-entered
	fmt.Printf("ready %d\n", os.Getpid())
	if err := <-done; err != nil {
		fail(err)
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: connpair server|client|pipe [flags]"))
	}
	role := os.Args[1]
	if err := flag.CommandLine.Parse(os.Args[2:]); err != nil {
		fail(err)
	}
	switch role {
	case "server":
		runServer()
	case "client":
		runClient()
	case "pipe":
		runPipe()
	default:
		fail(fmt.Errorf("unknown role %q", role))
	}
}
