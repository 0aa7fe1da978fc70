// Command inlining prints, as JSON, the raw PCs runtime.Callers returns at the innermost
// point of several chains of small functions the compiler inlines, and the frames
// runtime.CallersFrames expands them into: the oracle for inline-tree expansion.
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"runtime"
)

// Frame is one frame as runtime.CallersFrames reports it.
type Frame struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	PC       uint64 `json:"pc"`
}

// Capture is one call of capture: what runtime.Callers saw and how it expands.
type Capture struct {
	Name   string   `json:"name"`
	PCs    []uint64 `json:"pcs"`
	Frames []Frame  `json:"frames"`
}

var captures []Capture

//go:noinline
func capture(name string) int {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(0, pcs)
	c := Capture{Name: name}
	for _, pc := range pcs[:n] {
		c.PCs = append(c.PCs, uint64(pc))
	}
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		c.Frames = append(c.Frames, Frame{f.Function, f.File, f.Line, uint64(f.PC)})
		if !more {
			break
		}
	}
	captures = append(captures, c)
	return n
}

// A chain of three small functions, each inlined into its caller.
func leaf(x int) int { return capture("chain") + x }

func middle(x int) int {
	y := x * 2
	return leaf(y) + 1
}

func outer(x int) int {
	return middle(x+1) - 3
}

//go:noinline
func runChain() int {
	return outer(5)
}

// A generic function inlined with a shape.
func genericLeaf[T any](v T) int {
	_ = v
	return capture("generic")
}

func genericMiddle[T any](v T) int { return genericLeaf(v) * 2 }

//go:noinline
func runGeneric() int {
	return genericMiddle("s") + genericMiddle(3)
}

// A method inlined through a pointer receiver.
type counter struct{ n int }

func (c *counter) bump() int {
	c.n++
	return capture("method") + c.n
}

func (c *counter) twice() int { return c.bump() + c.bump() }

//go:noinline
func runMethod() int {
	c := &counter{}
	return c.twice()
}

// A closure called directly, inlined, calling across files (helpers.go).
//
//go:noinline
func runClosure() int {
	f := func(a int) int { return helperDouble(a) + 1 }
	return f(4)
}

// Not inlined: a physical frame between inlined groups.
//
//go:noinline
func physical() int {
	return outer(1) + helperDouble(2)
}

func main() {
	total := runChain() + runGeneric() + runMethod() + runClosure() + physical()
	_ = total
	// The run-time entry of main.main lets a reader of a PIE build compute the load bias.
	out := struct {
		MainEntry uint64    `json:"mainEntry"`
		Captures  []Capture `json:"captures"`
	}{uint64(reflect.ValueOf(main).Pointer()), captures}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
