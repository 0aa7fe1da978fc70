// Command goroutines is the "zoo": goroutines in every state a snapshot must decode —
// blocked on channels, selects, locks, timers, the network and system calls; running
// tight loops; deep recursion; inlined call chains; pprof labels; goroutines created by
// goroutines; a goroutine locked to its thread.
//
// It prints "ready" once everything is in place, then waits for a line on stdin; on it,
// it writes runtime.Stack(buf, true) (the oracle) followed by "END-OF-DUMP" and exits.
// It also exits when stdin closes, so a dead test never leaves it behind.
//
// Flags: -extra N adds N goroutines blocked on a channel receive at recursion depths
// 0..9 (for timing); -depth D sets the deep-recursion depth (default 200).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	sink    atomic.Int64
	started sync.WaitGroup
	forever = make(chan int) // never written
)

// spinA and spinB are the running goroutines: tight loops with no calls.
//
//go:noinline
func spinA(n *int64) {
	for {
		*n++
	}
}

//go:noinline
func spinB(n *int64) {
	x := *n
	for {
		x = x*31 + 7
		if x == 42 {
			*n = x
		}
	}
}

//go:noinline
func chanSend(ch chan int) { ch <- 1 }

//go:noinline
func chanRecv(ch chan int) { sink.Add(int64(<-ch)) }

//go:noinline
func nilChanRecv() {
	var c chan int
	<-c
}

//go:noinline
func nilChanSend() {
	var c chan int
	c <- 1
}

//go:noinline
func selectSeveral(a, b chan int, c chan string) {
	select {
	case v := <-a:
		sink.Add(int64(v))
	case b <- 2:
	case s := <-c:
		sink.Add(int64(len(s)))
	}
}

//go:noinline
func selectNoCases() { select {} }

//go:noinline
func mutexWait(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func rwReader(rw *sync.RWMutex) {
	rw.RLock()
	rw.RUnlock()
}

//go:noinline
func rwWriter(rw *sync.RWMutex) {
	rw.Lock()
	rw.Unlock()
}

//go:noinline
func waitGroupWait(wg *sync.WaitGroup) { wg.Wait() }

//go:noinline
func condWait(c *sync.Cond) {
	c.L.Lock()
	c.Wait()
	c.L.Unlock()
}

//go:noinline
func sleeper() { time.Sleep(time.Hour) }

//go:noinline
func acceptor(l net.Listener) {
	c, err := l.Accept()
	if err == nil {
		c.Close()
	}
}

//go:noinline
func reader(c net.Conn) {
	var b [16]byte
	c.Read(b[:])
}

// pipeReader blocks in a read(2) on a blocking pipe nobody writes: status "syscall".
//
//go:noinline
func pipeReader(fd int) {
	var b [1]byte
	syscall.Read(fd, b[:])
}

// recurse calls itself depth times, then blocks.
//
//go:noinline
func recurse(depth int, ch chan int) int {
	if depth == 0 {
		return <-ch
	}
	return recurse(depth-1, ch) + 1
}

// inlOuter -> inlMiddle -> inlInner are small enough to be inlined into one another.
func inlInner(ch chan int) int  { return <-ch + 1 }
func inlMiddle(ch chan int) int { return inlInner(ch) * 2 }
func inlOuter(ch chan int) int  { return inlMiddle(ch) - 3 }

//go:noinline
func inlinedChain(ch chan int) { sink.Add(int64(inlOuter(ch))) }

//go:noinline
func labelled(ctx context.Context) {
	_ = ctx
	<-forever
}

// parent starts a child and then blocks itself.
//
//go:noinline
func parent(ch chan int) {
	started.Add(1)
	go child(ch)
	<-ch
}

//go:noinline
func child(ch chan int) {
	started.Done()
	<-ch
}

//go:noinline
func lockedWaiter(ch chan int) {
	runtime.LockOSThread()
	started.Done()
	<-ch
}

//go:noinline
func extraWaiter(depth int, ch chan int) {
	if depth > 0 {
		extraWaiter(depth-1, ch)
		return
	}
	<-ch
}

// spawn runs f in a new goroutine and counts it as started.
func spawn(f func()) {
	started.Add(1)
	go func() {
		started.Done()
		f()
	}()
}

func main() {
	extra := flag.Int("extra", 0, "extra goroutines blocked on a channel")
	depth := flag.Int("depth", 200, "depth of the deep recursion")
	flag.Parse()

	var n1, n2 int64
	spawn(func() { spinA(&n1) })
	spawn(func() { spinB(&n2) })

	spawn(func() { chanSend(make(chan int)) })
	spawn(func() { chanRecv(make(chan int)) })
	spawn(nilChanRecv)
	spawn(nilChanSend)
	spawn(func() { selectSeveral(make(chan int), make(chan int), make(chan string)) })
	spawn(selectNoCases)

	var mu sync.Mutex
	mu.Lock()
	spawn(func() { mutexWait(&mu) })

	var rwForReader sync.RWMutex
	rwForReader.Lock()
	spawn(func() { rwReader(&rwForReader) })
	var rwForWriter sync.RWMutex
	rwForWriter.RLock()
	spawn(func() { rwWriter(&rwForWriter) })

	var wg sync.WaitGroup
	wg.Add(1)
	spawn(func() { waitGroupWait(&wg) })

	cond := sync.NewCond(&sync.Mutex{})
	spawn(func() { condWait(cond) })

	spawn(sleeper)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	spawn(func() { acceptor(l) })
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	client, err := net.Dial("tcp", l2.Addr().String())
	if err != nil {
		panic(err)
	}
	server, err := l2.Accept()
	if err != nil {
		panic(err)
	}
	spawn(func() { reader(server) })

	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	spawn(func() { pipeReader(fds[0]) })

	spawn(func() { sink.Add(int64(recurse(*depth, make(chan int)))) })
	spawn(func() { inlinedChain(make(chan int)) })

	pprof.Do(context.Background(), pprof.Labels("zoo", "labelled", "shard", "7"), func(ctx context.Context) {
		spawn(func() { labelled(ctx) })
	})
	pprof.Do(context.Background(), pprof.Labels("zoo", "second"), func(ctx context.Context) {
		spawn(func() { labelled(ctx) })
	})

	spawn(func() { parent(make(chan int)) })
	started.Add(1)
	go lockedWaiter(make(chan int))

	for i := 0; i < *extra; i++ {
		ch := forever
		started.Add(1)
		go func(d int) {
			started.Done()
			extraWaiter(d, ch)
		}(i % 10)
	}

	started.Wait()
	// Let every goroutine reach its blocking point (mutex waiters spin before parking).
	time.Sleep(300 * time.Millisecond)
	// A GC records g.waitsince of every blocked goroutine it scans, as the start time of
	// the previous GC's mark termination (0 before the first one ends): hence two.
	runtime.GC()
	runtime.GC()
	fmt.Println("ready")

	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		os.Exit(0)
	}
	buf := make([]byte, 64<<20)
	n := runtime.Stack(buf, true)
	os.Stdout.Write(buf[:n])
	fmt.Println("\nEND-OF-DUMP")
	client.Close()
	os.Exit(0)
}
