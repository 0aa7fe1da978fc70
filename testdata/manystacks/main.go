// Command manystacks is the target of bench/web-goroutines.ts: -n goroutines parked on 512
// distinct stacks, as a big service's are. Goroutine i walks nine levels of calls, taking
// left or right at each by a bit of i%512 (two functions per level), then parks in one of four
// ways (a channel receive, a select, a sleep, a mutex) under a pprof label naming its route.
//
// It prints "ready" once all goroutines are parked, and exits when stdin closes.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

var (
	never   = make(chan int)
	locked  sync.Mutex
	started sync.WaitGroup
)

//go:noinline
func park(i int) {
	started.Done()
	switch i % 4 {
	case 0:
		<-never
	case 1:
		select {
		case <-never:
		case <-time.After(time.Hour):
		}
	case 2:
		time.Sleep(time.Hour)
	default:
		locked.Lock()
	}
}

//go:noinline
func walk(i, level int) {
	if level == 9 {
		park(i)
		return
	}
	if (i>>level)&1 == 0 {
		left(i, level)
	} else {
		right(i, level)
	}
}

//go:noinline
func left(i, level int) { walk(i, level+1) }

//go:noinline
func right(i, level int) { walk(i, level+1) }

//go:noinline
func serve(i int) {
	routes := []string{"/orders", "/items", "/users", "/health"}
	labels := pprof.Labels("route", routes[(i/512)%len(routes)])
	pprof.Do(context.Background(), labels, func(context.Context) { walk(i%512, 0) })
}

func main() {
	n := flag.Int("n", 10000, "goroutines to park")
	flag.Parse()
	locked.Lock()
	started.Add(*n)
	for i := 0; i < *n; i++ {
		go serve(i)
	}
	started.Wait()
	time.Sleep(100 * time.Millisecond)
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
