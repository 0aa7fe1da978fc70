// Command probe-values is what the probe capture tests attach to: functions with arguments
// of many kinds (strings, pointers to structs, slices, interfaces, floats), named and unnamed
// results, a function that sleeps, a deep recursion whose stack grows and moves, an inlined
// function, a panic that is recovered, goroutines that end in runtime.Goexit, and many
// goroutines at once. Every argument is a function of the call's index, so a test can say
// what each call must have seen. Commands on stdin start each run, so probes attach first;
// each run prints what it did.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Point is a small struct reached through a pointer.
type Point struct{ X, Y int }

// Request has a field of each kind a capture may reach.
type Request struct {
	User  string
	ID    int64
	Tags  []string
	Where *Point
	Attrs map[string]int
	Err   error
	Score float64
	Ok    bool
}

// Shape is a non-empty interface (an itab in its first word).
type Shape interface{ Area() int }

// Square is stored by value in a Shape (indirectly: a pointer to a copy).
type Square struct{ Side int }

// Area is Square's method.
func (s Square) Area() int { return s.Side * s.Side }

// Rect is stored as a pointer in a Shape (directly in the data word).
type Rect struct{ W, H int }

// Area is *Rect's method.
func (r *Rect) Area() int { return r.W * r.H }

var users = []string{"alice", "bob", "carol"}

var sink int

// request i: the argument of handle's i-th call (see the test for the same rules).
func request(i int) *Request {
	r := &Request{User: users[i%3], ID: int64(i * 7), Score: float64(i) / 2, Ok: i%2 == 0}
	r.Tags = []string{"a", "bb", "ccc"}[:i%4]
	if i%5 != 0 {
		r.Where = &Point{i, -i}
	}
	if i%3 == 1 {
		r.Err = errors.New("e" + strconv.Itoa(i))
	}
	if i%7 == 0 {
		r.Attrs = map[string]int{"i": i}
	}
	return r
}

// handle is probed at entry with captures of each kind.
//
//go:noinline
func handle(user string, n int, req *Request, xs []int, shape Shape, v any) int {
	s := len(user) + n + len(xs) + int(req.ID)
	if shape != nil {
		s += shape.Area()
	}
	if v != nil {
		s++
	}
	return s
}

// divide has named results, one an interface.
//
//go:noinline
func divide(a, b int) (q int, err error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

// pair has unnamed results, one a string.
//
//go:noinline
func pair(n int) (int, string) {
	return n * 2, users[n%3]
}

// sleepy sleeps ms milliseconds (the durations test).
//
//go:noinline
func sleepy(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
}

// recurse recurses depth levels with a large frame each, so the goroutine's stack grows
// and is copied while its frames are between entry and return.
//
//go:noinline
func recurse(depth int, tag string) int {
	var pad [512]byte
	pad[depth%512] = byte(depth)
	r := len(tag)
	if depth > 0 {
		r += recurse(depth-1, tag)
	}
	return r + int(pad[depth%512]&0)
}

var release = make(chan int)

// Held is what hold keeps of its arguments, for a snapshot to read.
type Held struct {
	User  string
	N     int
	Req   *Request
	Xs    []int
	Shape Shape
	V     any
}

// held[n] is hold's n-th call's arguments (package memory a snapshot can always read: at the
// waiting PC Go's DWARF leaves some arguments in registers of an outer frame).
var held [64]Held

// hold keeps its arguments (handle's kinds) in held and waits: the test compares what a probe
// at its entry captured with what a snapshot shows of the same values.
//
//go:noinline
func hold(user string, n int, req *Request, xs []int, shape Shape, v any) int {
	held[n%64] = Held{user, n, req, xs, shape, v}
	return <-release
}

// double is small enough to be inlined into useDouble, with statements of its own so that
// its inlined copy keeps its position.
func double(x int) int {
	y := x * 2
	if y > 1000 {
		sink++
	}
	return y + 1
}

//go:noinline
func useDouble(x int) int {
	sink += x
	return double(x) + 3
}

// mustPositive panics for negative n: its frame never reaches its RET then.
//
//go:noinline
func mustPositive(n int) int {
	if n < 0 {
		panic("negative " + strconv.Itoa(n))
	}
	return n * 10
}

// risky recovers the panic of mustPositive.
//
//go:noinline
func risky(n int) (r int) {
	defer func() {
		if recover() != nil {
			r = -1
		}
	}()
	return mustPositive(n)
}

// quitter ends its goroutine with runtime.Goexit for odd n (deferred calls run, no RET).
//
//go:noinline
func quitter(n int) int {
	if n%2 == 1 {
		runtime.Goexit()
	}
	return n
}

// scale takes a float in a register (X0): a probe cannot read it.
//
//go:noinline
func scale(f float64, n int) float64 {
	return f * float64(n)
}

// small is the benchmark's function: five arguments of five kinds.
//
//go:noinline
func small(a int, s string, p *Point, b bool, xs []int) int {
	if b {
		return a + len(s) + p.X + len(xs)
	}
	return a - len(xs)
}

// work is the benchmark's function: five arguments of five kinds, and a call, so that it has
// a frame and a stack check and its entry site is the PUSHQ BP the kernel emulates.
//
//go:noinline
func work(a int, s string, p *Point, b bool, xs []int) int {
	if b {
		return mix(a+len(s)) + p.X + len(xs)
	}
	return a - len(xs)
}

//go:noinline
func mix(x int) int { return x ^ 0x5a }

// threadCPU is the CPU time of the calling thread (user and system, so the kernel's handling
// of a probe's trap counts, and time spent waiting for a CPU does not).
func threadCPU() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// goid is the current goroutine's id, from the runtime's own traceback header.
func goid() int {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	id, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(s, "goroutine "))[0])
	return id
}

// ids runs f(i) on g goroutines at once and returns their goroutine ids, comma separated.
func ids(g int, f func(i int)) string {
	var wg sync.WaitGroup
	out := make([]string, g)
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out[i] = strconv.Itoa(goid())
			f(i)
		}(i)
	}
	wg.Wait()
	return strings.Join(out, ",")
}

var shapes = []Shape{Square{3}, &Rect{2, 5}}

// value i: handle's v argument (an int, a string, or nil).
func value(i int) any {
	switch i % 3 {
	case 0:
		return i
	case 1:
		return "s" + strconv.Itoa(i)
	}
	return nil
}

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	xs := make([]int, 8)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		arg := func(i int) int { v, _ := strconv.Atoi(f[i]); return v }
		switch f[0] {
		case "handle": // handle N: handle's i-th call for i < N, on this goroutine
			n := arg(1)
			for i := 0; i < n; i++ {
				for k := range xs {
					xs[k] = i + k
				}
				sink += handle(users[i%3], i, request(i), xs[:i%6], shapes[i%2], value(i))
			}
			fmt.Printf("done handle %d goid %d\n", n, goid())
		case "divide": // divide N: divide(i, i%4)
			n := arg(1)
			for i := 0; i < n; i++ {
				q, err := divide(i, i%4)
				if err == nil {
					sink += q
				}
			}
			fmt.Printf("done divide %d\n", n)
		case "pair": // pair N
			n := arg(1)
			for i := 0; i < n; i++ {
				a, s := pair(i)
				sink += a + len(s)
			}
			fmt.Printf("done pair %d\n", n)
		case "sleepy": // sleepy N MS: each call timed from outside
			n, ms := arg(1), arg(2)
			took := make([]string, n)
			for i := 0; i < n; i++ {
				t0 := time.Now()
				sink += sleepy(ms)
				took[i] = strconv.FormatInt(time.Since(t0).Nanoseconds(), 10)
			}
			fmt.Printf("done sleepy %d ns %s\n", n, strings.Join(took, ","))
		case "recurse": // recurse G D: G goroutines, each recurse(D, "g<i>")
			g, d := arg(1), arg(2)
			gs := ids(g, func(i int) { sink += recurse(d, "g"+strconv.Itoa(i)) })
			fmt.Printf("done recurse %d %d goids %s\n", g, d, gs)
		case "inline": // inline N: useDouble(i) (double inlined into it)
			n := arg(1)
			for i := 0; i < n; i++ {
				sink += useDouble(i)
			}
			fmt.Printf("done inline %d\n", n)
		case "risky": // risky N: risky(i - N/2), the negative ones panic and recover
			n := arg(1)
			rec := 0
			for i := 0; i < n; i++ {
				if risky(i-n/2) == -1 {
					rec++
				}
			}
			fmt.Printf("done risky %d recovered %d\n", n, rec)
		case "quit": // quit N: N goroutines call quitter(i); odd ones end in Goexit
			n := arg(1)
			gs := ids(n, func(i int) { sink += quitter(i) })
			fmt.Printf("done quit %d goids %s\n", n, gs)
		case "scale": // scale N
			n := arg(1)
			for i := 0; i < n; i++ {
				sink += int(scale(float64(i), 2))
			}
			fmt.Printf("done scale %d\n", n)
		case "goroutines": // goroutines G K: goroutine g calls small(g*1000000+k, ...) K times
			g, k := arg(1), arg(2)
			gs := ids(g, func(i int) {
				p := &Point{i, 0}
				for j := 0; j < k; j++ {
					sink += small(i*1000000+j, "x", p, true, nil)
				}
			})
			fmt.Printf("done goroutines %d %d goids %s\n", g, k, gs)
		case "preempt": // preempt G K: like goroutines, while another goroutine allocates and collects
			g, k := arg(1), arg(2)
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					default:
						_ = make([]byte, 1<<16)
						runtime.GC()
					}
				}
			}()
			gs := ids(g, func(i int) {
				p := &Point{i, 0}
				for j := 0; j < k; j++ {
					sink += small(i*1000000+j, "x", p, true, nil)
				}
			})
			close(stop)
			fmt.Printf("done preempt %d %d goids %s\n", g, k, gs)
		case "bench": // bench N [heap]: N calls of work, timed (wall clock, and the CPU time of the thread); heap: s is a copy on the heap, not the literal
			n := arg(1)
			p := &Point{1, 2}
			s := "hello"
			if len(f) > 2 && f[2] == "heap" {
				s = string(append([]byte(nil), s...))
			}
			runtime.LockOSThread()
			c0 := threadCPU()
			t0 := time.Now()
			for i := 0; i < n; i++ {
				sink += work(i, s, p, true, xs[:3])
			}
			wall := time.Since(t0).Nanoseconds()
			cpu := threadCPU() - c0
			runtime.UnlockOSThread()
			fmt.Printf("done bench %d ns %d cpu %d\n", n, wall, cpu)
		case "flood": // flood G MS: G goroutines call work in a loop for MS milliseconds
			g, ms := arg(1), arg(2)
			end := time.Now().Add(time.Duration(ms) * time.Millisecond)
			var total int64
			var mu sync.Mutex
			ids(g, func(i int) {
				p := &Point{i, 0}
				n := int64(0)
				for time.Now().Before(end) {
					for j := 0; j < 100; j++ {
						sink += work(j, "hello", p, true, nil)
					}
					n += 100
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
			fmt.Printf("done flood %d calls %d\n", g, total)
		case "spin": // spin MS: small in a loop for MS milliseconds
			end := time.Now().Add(time.Duration(arg(1)) * time.Millisecond)
			p := &Point{1, 2}
			n := 0
			for time.Now().Before(end) {
				for j := 0; j < 1000; j++ {
					sink += small(n, "hello", p, true, xs[:3])
					n++
				}
			}
			fmt.Printf("done spin %d\n", n)
		case "hold": // hold N: N goroutines call hold with handle's i-th arguments and wait in it
			n := arg(1)
			for i := 0; i < n; i++ {
				ys := make([]int, i%6)
				for k := range ys {
					ys[k] = i + k
				}
				go func(i int) { sink += hold(users[i%3], i, request(i), ys, shapes[i%2], value(i)) }(i)
			}
			fmt.Printf("done hold %d\n", n)
		case "release": // release N: lets N waiting hold calls return
			n := arg(1)
			for i := 0; i < n; i++ {
				release <- 1
			}
			fmt.Printf("done release %d\n", n)
		case "labeled": // labeled N: small(i, "l", ...) N times under pprof labels user=alice, calls=N, session_token=tok-N
			n := arg(1)
			labels := pprof.Labels("user", "alice", "calls", strconv.Itoa(n), "session_token", "tok-"+strconv.Itoa(n))
			pprof.Do(context.Background(), labels, func(context.Context) {
				p := &Point{1, 2}
				for i := 0; i < n; i++ {
					sink += small(i, "l", p, true, nil)
				}
			})
			fmt.Printf("done labeled %d\n", n)
		case "exit":
			return
		}
	}
}
