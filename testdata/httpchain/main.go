// Command httpchain is one link of an HTTP chain A -> B -> C on 127.0.0.1 where C's handler
// is stuck on a sync.Mutex that another goroutine holds forever, so A and B wait on their
// responses for as long as the processes live.
//
//	httpchain -role c             prints "ready PID listening ADDR"; "handling PATH" per request
//	httpchain -role b -next ADDR  the same; its handler calls ADDR/c
//	httpchain -role a -next ADDR  calls ADDR/b in a goroutine; prints "ready PID"
//	httpchain -role loop          C and A in one process: A's call goes to its own stuck handler
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

var (
	role = flag.String("role", "", "a, b or c")
	next = flag.String("next", "", "host:port of the next link (a and b)")

	stuck sync.Mutex
)

// holdLock takes the mutex C's handler needs and never gives it back.
//
//go:noinline
func holdLock(locked chan<- struct{}) {
	stuck.Lock()
	close(locked)
	select {}
}

// handleC is C's handler: it blocks on the mutex forever.
//
//go:noinline
func handleC(w http.ResponseWriter, r *http.Request) {
	fmt.Printf("handling %s\n", r.URL.Path)
	stuck.Lock()
	defer stuck.Unlock()
	fmt.Fprintln(w, "c")
}

// handleB is B's handler: it calls C and relays the answer.
//
//go:noinline
func handleB(w http.ResponseWriter, r *http.Request) {
	fmt.Printf("handling %s\n", r.URL.Path)
	body, err := callNext("/c")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	fmt.Fprintf(w, "b <- %s", body)
}

// callNext makes the outgoing request to the next link and reads the answer.
//
//go:noinline
func callNext(path string) (string, error) {
	resp, err := http.Get("http://" + *next + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// callB is A's request to B, made in its own goroutine.
//
//go:noinline
func callB(done chan<- string) {
	body, err := callNext("/b")
	if err != nil {
		body = "error: " + err.Error()
	}
	done <- body
}

func listen() net.Listener {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	return lis
}

func serve(h http.HandlerFunc) {
	lis := listen()
	fmt.Printf("ready %d listening %s\n", os.Getpid(), lis.Addr())
	fail(http.Serve(lis, h))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "httpchain:", err)
	os.Exit(1)
}

func main() {
	flag.Parse()
	switch *role {
	case "c":
		locked := make(chan struct{})
		go holdLock(locked)
		<-locked
		serve(handleC)
	case "b":
		serve(handleB)
	case "a":
		done := make(chan string)
		go callB(done)
		fmt.Printf("ready %d\n", os.Getpid())
		fmt.Println("answer:", <-done)
	case "loop":
		locked := make(chan struct{})
		go holdLock(locked)
		<-locked
		lis := listen()
		*next = lis.Addr().String()
		done := make(chan string)
		go callB(done)
		fmt.Printf("ready %d listening %s\n", os.Getpid(), lis.Addr())
		fail(http.Serve(lis, http.HandlerFunc(handleC)))
	default:
		fail(fmt.Errorf("-role must be a, b, c or loop"))
	}
}
