// Command manythreads makes many OS threads: goroutines blocked in raw read(2) system calls
// each hold an M (thread). With the argument "churn" it also creates and destroys threads
// continuously (a goroutine that exits while locked to its thread takes the thread with it).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

func main() {
	blocked := 24
	for i := 0; i < blocked; i++ {
		var p [2]int
		if err := syscall.Pipe(p[:]); err != nil {
			panic(err)
		}
		go func(fd int) {
			var b [1]byte
			syscall.Read(fd, b[:]) // blocks forever: nobody writes
		}(p[0])
	}
	if len(os.Args) > 1 && os.Args[1] == "churn" {
		for i := 0; i < 4; i++ {
			go func() {
				for {
					done := make(chan struct{})
					go func() {
						runtime.LockOSThread()
						close(done) // exits locked: the runtime terminates this thread
					}()
					<-done
				}
			}()
		}
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Printf("ready %d\n", os.Getpid())
	for n := 0; ; n++ {
		fmt.Printf("tick %d\n", n)
		time.Sleep(50 * time.Millisecond)
	}
}
