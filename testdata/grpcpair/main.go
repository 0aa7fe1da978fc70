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
// generated code is needed. Built with -tags serveronly or -tags clientonly, the binary has
// only one side's code (as most services do), which is what the default spec must also fit.
package main

import (
	"fmt"
	"os"
	"strconv"
)

const service = "periscope.test.Pair"

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
