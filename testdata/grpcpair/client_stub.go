//go:build serveronly

package main

import "errors"

// runClient is left out of the server-only build (-tags serveronly).
func runClient(string, string, int) { fail(errors.New("this build is server-only")) }
