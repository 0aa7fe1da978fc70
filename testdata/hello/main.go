// Command hello is the smallest fixture: a few functions, a struct, a goroutine.
package main

import (
	"fmt"
	"os"
	"time"
)

type Point struct {
	X, Y int
	Name string
}

//go:noinline
func distance(p Point) int {
	d := p.X*p.X + p.Y*p.Y
	return d
}

func main() {
	p := Point{X: 3, Y: 4, Name: os.Args[0]}
	done := make(chan struct{})
	go func() {
		fmt.Println("distance", distance(p))
		close(done)
	}()
	<-done
	if len(os.Args) > 1 && os.Args[1] == "wait" {
		time.Sleep(time.Hour)
	}
}
