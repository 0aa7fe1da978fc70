// Command mutating changes what its parked goroutines point at, all the time: one goroutine
// increments a counter and then copies it to a second one (two separate heap objects), in a
// tight loop, while four goroutines park in main.hold with a pointer to both. Read while the
// process is paused, every hold frame sees the same two numbers, equal or the copy one
// behind; read from the running process, frames see different numbers and the copy runs
// ahead. With -still the counters only change on request: a line "bump" on stdin adds 1000
// to both and prints "bumped OLD NEW". A line "opt" sets pair.opt (nil until then), which
// changes the memory an expression through it reads.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
)

type counter struct {
	n   uint64
	pad [64]uint64 // each counter in an object of its own, far from the other
}

type pair struct {
	a   *counter
	b   *counter
	opt *counter
}

var sink uint64

//go:noinline
func hold(p *pair, ch chan struct{}) {
	<-ch
	sink = p.a.n // p stays live (on the stack) while parked
}

func main() {
	still := flag.Bool("still", false, "change the counters only on request")
	flag.Parse()
	p := &pair{a: &counter{n: 1}, b: &counter{n: 1}}
	ch := make(chan struct{})
	for i := 0; i < 4; i++ {
		go hold(p, ch)
	}
	if !*still {
		go func() {
			for {
				n := atomic.AddUint64(&p.a.n, 1)
				atomic.StoreUint64(&p.b.n, n)
			}
		}()
	}
	fmt.Printf("ready %d\n", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "opt":
			p.opt = &counter{n: 7}
			fmt.Println("opt set")
		case "bump":
			old := atomic.LoadUint64(&p.a.n)
			n := atomic.AddUint64(&p.a.n, 1000)
			atomic.StoreUint64(&p.b.n, n)
			fmt.Printf("bumped %d %d\n", old, n)
		}
	}
}
