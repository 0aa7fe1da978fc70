// Command pausebench is the target of bench/pause.ts: N goroutines blocked on a channel at
// stack depth 10 (ten distinct small functions), and a ticker goroutine locked to its own OS
// thread that spins on the monotonic clock and records the longest gap between two of its
// observations. A stop of the whole process (the runtime's stop-the-world, or a ptrace stop
// of every thread) shows up as such a gap.
//
// It serves on 127.0.0.1 (port printed on the "ready" line):
//   - /gap: the longest gap since the last /gap (JSON, CLOCK_MONOTONIC ns), then resets it;
//   - /stack: runs runtime.Stack(buf, true) once and reports how long it took;
//   - /debug/pprof/...: net/http/pprof (the debug=2 anchor).
//
// With -big K, K more goroutines each block under about 1 MiB of used stack.
//
// It prints "ready PORT" once all N goroutines are blocked, and exits when stdin closes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's CLOCK_MONOTONIC reading (the clock of Node's process.hrtime).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

var (
	block   = make(chan int) // never written
	parked  sync.WaitGroup
	sink    atomic.Int64
	gapMax  atomic.Int64 // longest gap seen in the current window, ns (written by the ticker only)
	gapEnd  atomic.Int64 // CLOCK_MONOTONIC at the end of that gap
	resetAt atomic.Int64 // set by /gap: the ticker starts a new window
	loops   atomic.Int64
	// armedUntil: the ticker spins until this time (CLOCK_MONOTONIC), 20 s after the last /gap.
	armedUntil atomic.Int64
)

//go:noinline
func d10(x int) int {
	parked.Done()
	v := <-block
	return x + v
}

//go:noinline
func d9(x int) int { return d10(x+9) + 1 }

//go:noinline
func d8(x int) int { return d9(x+8) + 1 }

//go:noinline
func d7(x int) int { return d8(x+7) + 1 }

//go:noinline
func d6(x int) int { return d7(x+6) + 1 }

//go:noinline
func d5(x int) int { return d6(x+5) + 1 }

//go:noinline
func d4(x int) int { return d5(x+4) + 1 }

//go:noinline
func d3(x int) int { return d4(x+3) + 1 }

//go:noinline
func d2(x int) int { return d3(x+2) + 1 }

//go:noinline
func d1(x int) { sink.Add(int64(d2(x + 1))) }

// deep recurses with a 64 KiB frame at each level and parks at the bottom: a goroutine whose
// used stack is about depth*64 KiB (tests of the pause cap need a copy that takes a while).
//
//go:noinline
func deep(depth int) int {
	var pad [64 << 10]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		parked.Done()
		v := <-block
		return v + int(pad[0])
	}
	return deep(depth-1) + int(pad[depth%len(pad)])
}

// ticker spins on its own thread, recording the longest gap between consecutive readings
// of the clock; /gap reads the record and asks for a fresh window. It spins only while
// someone asks for gaps (armedUntil), so an idle target does not burn a core.
func ticker() {
	runtime.LockOSThread()
	last := nanotime()
	var window int64
	var max, end int64
	for {
		now := nanotime()
		if now > armedUntil.Load() {
			time.Sleep(5 * time.Millisecond)
			last = nanotime()
			continue
		}
		if r := resetAt.Load(); r != window {
			window, max, end = r, 0, 0
			gapMax.Store(0)
			gapEnd.Store(0)
			loops.Store(0)
		}
		if g := now - last; g > max {
			max, end = g, now
			gapMax.Store(max)
			gapEnd.Store(end)
		}
		last = now
		loops.Add(1)
	}
}

type gapReport struct {
	MaxNs int64 `json:"maxNs"`
	EndNs int64 `json:"endNs"`
	Loops int64 `json:"loops"`
	NowNs int64 `json:"nowNs"`
}

func main() {
	n := flag.Int("n", 1000, "goroutines blocked at depth 10")
	big := flag.Int("big", 0, "more goroutines, each blocked under about 1 MiB of used stack")
	flag.Parse()
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2) // the ticker holds one P for itself
	}
	parked.Add(*n)
	for i := 0; i < *n; i++ {
		go d1(i)
	}
	parked.Add(*big)
	for i := 0; i < *big; i++ {
		go func() { sink.Add(int64(deep(16))) }()
	}
	parked.Wait()
	go ticker()

	var stackMu sync.Mutex
	var stackBuf []byte
	http.HandleFunc("/gap", func(w http.ResponseWriter, _ *http.Request) {
		armed := nanotime() < armedUntil.Load()
		armedUntil.Store(nanotime() + 20e9)
		// Wait a moment so the ticker has surely looked at the clock since the action ended
		// (or, if it was idle, has started spinning).
		time.Sleep(2 * time.Millisecond)
		if !armed {
			time.Sleep(10 * time.Millisecond)
		}
		rep := gapReport{MaxNs: gapMax.Load(), EndNs: gapEnd.Load(), Loops: loops.Load()}
		resetAt.Add(1)                   // only the ticker writes the record: it starts a new window
		time.Sleep(1 * time.Millisecond) // the ticker has seen the reset when we answer
		rep.NowNs = nanotime()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rep)
	})
	http.HandleFunc("/stack", func(w http.ResponseWriter, _ *http.Request) {
		stackMu.Lock()
		defer stackMu.Unlock()
		if stackBuf == nil {
			stackBuf = make([]byte, 4096*(*n)+(1<<20))
		}
		t0 := nanotime()
		k := runtime.Stack(stackBuf, true)
		t1 := nanotime()
		fmt.Fprintf(w, `{"ns":%d,"bytes":%d,"truncated":%t,"startNs":%d}`, t1-t0, k, k == len(stackBuf), t0)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { panic(http.Serve(ln, nil)) }()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	time.Sleep(50 * time.Millisecond)
	fmt.Printf("ready %d\n", ln.Addr().(*net.TCPAddr).Port)
	select {}
}
