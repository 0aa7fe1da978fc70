// Package util (a) exists so that the short name "util" is ambiguous in the exprs fixture.
package util

// Name is a package variable the expression tests read through its import path.
var Name = "util-a"

// Counter is bumped by Touch so that the variable stays in the binary.
var Counter = 11

// Touch keeps the package's variables alive.
func Touch() int { Counter++; return len(Name) + Counter }
