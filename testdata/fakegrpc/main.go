// Command fakegrpc runs a stand-in grpc-go (./grpc, replacing the real module) whose
// Server.handleStream has the built-in spec's variables, but a transport without a socket.
// One handler blocks in it; the program prints "ready PID" and waits for stdin to close.
package main

import (
	"bufio"
	"fmt"
	"os"

	"google.golang.org/grpc"
)

func main() {
	entered := make(chan struct{})
	block := make(chan struct{})
	s := &grpc.Server{Handler: func(string) {
		close(entered)
		<-block
	}}
	go s.Serve()
	<-entered
	fmt.Printf("ready %d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
}
