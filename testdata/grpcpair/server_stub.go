//go:build clientonly

package main

import "errors"

// runServer is left out of the client-only build (-tags clientonly).
func runServer() { fail(errors.New("this build is client-only")) }
