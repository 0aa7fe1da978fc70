// Command signalnotify asks for every signal (signal.Notify with no list) and exits with
// code 42 and "got signal" as soon as one arrives (SIGURG excepted: the Go runtime sends it
// to itself to preempt goroutines). It prints "tick N" every 50 ms, so a test can see that a
// pause left it running and unsignalled.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	c := make(chan os.Signal, 16)
	signal.Notify(c)
	go func() {
		for s := range c {
			if s == syscall.SIGURG {
				continue
			}
			fmt.Printf("got signal %v\n", s)
			os.Exit(42)
		}
	}()
	// Some busy goroutines, so that threads are running user code when paused.
	for i := 0; i < 3; i++ {
		go func() {
			x := 0
			for {
				x++
				if x%(1<<20) == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for n := 0; ; n++ {
		fmt.Printf("tick %d %d\n", n, time.Now().UnixMilli())
		time.Sleep(50 * time.Millisecond)
	}
}
