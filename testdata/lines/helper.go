package main

import "os"

//go:noinline
func helper(n int) int {
	acc := 1
	for i := 0; i < n%7; i++ {
		switch {
		case i%2 == 0:
			acc *= 3
		default:
			acc += len(os.Args)
		}
	}
	return acc
}
