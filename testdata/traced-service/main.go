// Command traced-service is what the request-trace tests and benchmark run: an HTTP server
// whose requests for user "mallory" fail (main.handle returns an error), for user "slow"
// take as long as ?sleep=MS says, and for everyone else succeed at once. Each request
// starts a goroutine (main.lookup) that checks the user and answers on a channel, and calls
// main.step twice, so a trace has events on two goroutines in a known order. It prints
// "ready PID port PORT" once it accepts connections.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

//go:noinline
func check(user string) error {
	if user == "mallory" {
		return fmt.Errorf("user %s: access denied", user)
	}
	return nil
}

//go:noinline
func lookup(user string, done chan<- error) {
	done <- check(user)
}

//go:noinline
func step(user string, i int) int {
	return len(user) + i
}

//go:noinline
func handle(user string, sleepMs int) error {
	done := make(chan error, 1)
	go lookup(user, done)
	err := <-done
	step(user, 1)
	if user == "slow" {
		time.Sleep(time.Duration(sleepMs) * time.Millisecond)
	}
	step(user, 2)
	return err
}

func serve(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("sleep"))
	if err := handle(r.URL.Query().Get("user"), ms); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	fmt.Fprintln(w, "ok")
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("ready %d port %d\n", os.Getpid(), ln.Addr().(*net.TCPAddr).Port)
	http.HandleFunc("/work", serve)
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
