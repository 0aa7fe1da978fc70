// Command linkpair runs a TCP server and its clients in one process, for the store's link
// tests: each client goroutine waits in main.call for a reply that its server goroutine
// (main.handle) holds back until stdin closes. Both sides know the connection's local and
// remote addresses, so a spec link can pair them. It prints "ready PID" once every handler
// has its request, then waits for stdin to close.
package main

import (
	"fmt"
	"net"
	"os"
	"sync"
)

const clients = 2

var (
	release = make(chan struct{})
	handled sync.WaitGroup
)

// handle serves one connection: it reads the request byte and waits before replying.
//
//go:noinline
func handle(conn net.Conn, local, remote string, id int) {
	buf := make([]byte, 1)
	if _, err := conn.Read(buf); err != nil {
		panic(err)
	}
	handled.Done()
	<-release
	conn.Write(buf)
	fmt.Fprintln(os.Stderr, "handled", local, remote, id)
}

// call sends a request byte and waits for the reply.
//
//go:noinline
func call(conn net.Conn, local, remote string, id int) {
	buf := []byte{byte(id)}
	if _, err := conn.Write(buf); err != nil {
		panic(err)
	}
	conn.Read(buf)
	fmt.Fprintln(os.Stderr, "called", local, remote, id)
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	handled.Add(clients)
	go func() {
		for id := 1; ; id++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c, c.LocalAddr().String(), c.RemoteAddr().String(), 100+id)
		}
	}()
	for id := 1; id <= clients; id++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		go call(c, c.LocalAddr().String(), c.RemoteAddr().String(), id)
	}
	handled.Wait()
	fmt.Println("ready", os.Getpid())
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
	close(release)
}
