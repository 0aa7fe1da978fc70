// Command lines is the fixture for line tables, call-frame information and location
// expressions: functions in two files, an inlined call site, a closure, a method,
// a function with many locals and arguments split across registers.
package main

import (
	"fmt"
	"os"
	"strings"
)

// Pair is a small struct passed by value (split across registers by the ABI).
type Pair struct {
	A int
	B string
}

// add is small enough to be inlined into its callers.
func add(a, b int) int {
	return a + b
}

//go:noinline
func sum(xs []int) int {
	total := 0
	for i, x := range xs {
		total = add(total, x*i)
	}
	return total
}

//go:noinline
func describe(p Pair, scale float64, flag bool) string {
	var sb strings.Builder
	for i := 0; i < p.A; i++ {
		sb.WriteString(p.B)
	}
	if flag {
		sb.WriteString(fmt.Sprintf("%.2f", scale*float64(p.A)))
	}
	return sb.String()
}

//go:noinline
func (p *Pair) grow(n int) {
	p.A += n
	p.B = strings.Repeat(p.B, 2)
}

func main() {
	xs := []int{1, 2, 3, 4, 5}
	p := Pair{A: len(os.Args), B: "ab"}
	p.grow(sum(xs))
	counter := 0
	inc := func(d int) int {
		counter += d
		return counter
	}
	inc(3)
	fmt.Println(describe(p, 1.5, len(os.Args) > 0), inc(4), helper(p.A))
}
