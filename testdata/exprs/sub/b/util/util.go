// Package util (b) has the same short name as package a's util.
package util

// Name is a package variable with the same name as util (a)'s.
var Name = "util-b"

// Only exists in this util only, so "util.Only" is unambiguous.
var Only = []string{"x", "y"}

// Touch keeps the package's variables alive.
func Touch() int { return len(Name) + len(Only) }
