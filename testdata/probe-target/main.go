// Command probe-target is what the probe tests attach to: main.target is called a known
// number of times with known integer arguments, from one goroutine, from many, and at every
// level of deep recursions on fresh goroutines (so its stack check fails now and then and
// runtime.morestack re-enters it). Commands on stdin start each run, so probes attach first;
// each run prints what it did, for the test to compare with what the probes saw.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is the probed function: a frame, a stack check, one call.
//
//go:noinline
func target(n int) int {
	return leaf(n) + 1
}

// leaf has no stack check: its entry site is its first instruction.
//
//go:noinline
//go:nosplit
func leaf(n int) int {
	return n ^ 0x5a
}

// scale is small enough to be inlined into useA and useB (the inlined-copies test), with
// statements of its own so that its position survives in both copies.
func scale(x int) int {
	y := x * 3
	if y > 1000 {
		sink++
	}
	return y + 7
}

//go:noinline
func useA(x int) int { return scale(x) + 1 }

//go:noinline
func useB(x int) int { return scale(x+1) * 2 }

// sign returns from three places (the return-sites test).
//
//go:noinline
func sign(n int) int {
	if n < 0 {
		return -1
	}
	if n == 0 {
		return 0
	}
	return 1
}

// deep calls target at every level of a recursion whose frames are large, so the goroutine's
// stack grows (and is copied) many times, sometimes in target's own stack check.
//
//go:noinline
func deep(depth, base int) int {
	var pad [200]byte
	pad[depth%200] = byte(depth)
	r := target(base + depth)
	if depth > 0 {
		r += deep(depth-1, base)
	}
	return r + int(pad[depth%200]&0)
}

// goid is the current goroutine's id, from the runtime's own traceback header.
func goid() int {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	id, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(s, "goroutine "))[0])
	return id
}

var sink int

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		arg := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
		switch f[0] {
		case "calls": // calls N: target(0..N-1) on this goroutine
			n := arg(1)
			for i := 0; i < n; i++ {
				sink += target(i)
			}
			fmt.Printf("done calls %d goid %d\n", n, goid())
		case "goroutines": // goroutines G K: goroutine g calls target(g*1000000 + k) for k < K
			g, k := arg(1), arg(2)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := make([]string, g)
			for i := 0; i < g; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					s := 0
					for j := 0; j < k; j++ {
						s += target(i*1000000 + j)
					}
					mu.Lock()
					ids[i] = strconv.Itoa(goid())
					sink += s
					mu.Unlock()
				}(i)
			}
			wg.Wait()
			fmt.Printf("done goroutines %d %d goids %s\n", g, k, strings.Join(ids, ","))
		case "deep": // deep G D: G fresh goroutines, each target(g*1000000 + d) at depths D..0
			g, d := arg(1), arg(2)
			var wg sync.WaitGroup
			for i := 0; i < g; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					sink += deep(d, i*1000000)
				}(i)
			}
			wg.Wait()
			fmt.Printf("done deep %d %d\n", g, d)
		case "others": // the functions of the site tests, once each
			sink += useA(1) + useB(2) + sign(-3) + sign(0) + sign(5) + leaf(9)
			fmt.Println("done others")
		case "spin": // spin MS: call target in a loop for MS milliseconds (the probe-removal tests)
			end := time.Now().Add(time.Duration(arg(1)) * time.Millisecond)
			n := 0
			for time.Now().Before(end) {
				sink += target(n)
				n++
			}
			fmt.Printf("done spin %d\n", n)
		case "bench": // bench N: N calls of target, timed
			n := arg(1)
			t0 := time.Now()
			for i := 0; i < n; i++ {
				sink += target(i)
			}
			fmt.Printf("done bench %d ns %d\n", n, time.Since(t0).Nanoseconds())
		case "exit":
			return
		}
	}
}
