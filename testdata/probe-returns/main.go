// Command probe-returns is what the tests of return sites run (test/probes/probe-returns.test.ts):
// functions with several returns whose paths reach their RET by a conditional jump taken or
// not taken, an unconditional jump, or through a NOP, returning constants, arguments and
// values loaded from the frame; one that panics on some calls (recovered by its caller), and
// a recursive one. Every result is a function of the argument. "calls N" runs call i for i < N
// and prints "done calls N".
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

var errNegative = errors.New("negative")

var sink int

//go:noinline
func classify(n int) (int, bool) {
	if n < 0 {
		return 0, false
	}
	if n == 0 {
		return 1, true
	}
	if n > 3 {
		return n, false
	}
	return n * 2, true
}

//go:noinline
func pick(n int, s string) (string, int) {
	switch {
	case len(s) == 0:
		return "", 0
	case n%3 == 0:
		return s, n
	case n%3 == 1:
		return s[:1], -n
	}
	return "x", 7
}

//go:noinline
func check(n int) error {
	if n%4 == 3 {
		return errNegative
	}
	return nil
}

//go:noinline
func mustSmall(n int) int {
	if n%5 == 4 {
		panic("too big: " + strconv.Itoa(n))
	}
	if n%2 == 0 {
		return n / 2
	}
	return n + 1
}

//go:noinline
func depth(n int) int {
	if n == 0 {
		return 0
	}
	return depth(n-1) + 1
}

func safe(n int) (r int) {
	defer func() {
		if recover() != nil {
			r = -1
		}
	}()
	return mustSmall(n)
}

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 2 || f[0] != "calls" {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		for i := 0; i < n; i++ {
			a, b := classify(i%7 - 2)
			s, k := pick(i, "abc"[:i%4])
			if b {
				sink += a
			}
			if check(i) != nil {
				sink++
			}
			sink += k + len(s) + safe(i) + depth(i%5)
		}
		fmt.Printf("done calls %d\n", n)
	}
}
