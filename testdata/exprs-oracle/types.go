package main

// The named types of the oracle fixture: one of each kind the expression language meets.

// MyInt is a named int.
type MyInt int

// MyInt8 is a named int8.
type MyInt8 int8

// Celsius is a named float64.
type Celsius float64

// Name is a named string.
type Name string

// Bytes is a named byte slice.
type Bytes []byte

// IntSlice is a named int slice.
type IntSlice []int

// Arr5 is a named array.
type Arr5 [5]int

// Point and Pt have identical underlying types.
type Point struct{ X, Y int }

// Pt has the same underlying type as Point.
type Pt struct{ X, Y int }

// Key is a struct used as a map key.
type Key struct {
	A int
	B string
}

// Inner is nested in Outer.
type Inner struct {
	F float64
	S string
}

// Outer is a comparable struct with a nested struct, an array and a pointer.
type Outer struct {
	In  Inner
	Arr [2]int8
	P   *Point
}

// WithSlice is not comparable.
type WithSlice struct{ S []int }

// Blank has a blank field, which == ignores.
type Blank struct {
	A int
	_ int32
	B int
}

// FKey holds a float (NaN is not equal to itself).
type FKey struct{ F float64 }

// PInt is a named pointer type.
type PInt *int

// MyErr is an error type.
type MyErr struct{ Code int }

func (e *MyErr) Error() string { return "my error" }

// Shape is an interface with a method.
type Shape interface{ Area() float64 }

// Sq implements Shape.
type Sq struct{ S float64 }

// Area is the square's area.
func (s Sq) Area() float64 { return s.S * s.S }

//go:noinline
func double(x int) int { return 2 * x }
