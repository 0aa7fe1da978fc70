// Command spinloop runs main.spin, a tight loop that never calls anything, on one goroutine
// forever, so that a paused thread's program counter is known to lie inside it.
package main

import (
	"fmt"
	"os"
)

var sink uint64

//go:noinline
func spin(n uint64) uint64 {
	x := n
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			break
		}
	}
	return x
}

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	sink = spin(uint64(len(os.Args)))
}
