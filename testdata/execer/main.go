// Command execer is a Go program that becomes another program on request: it prints
// "ready PID", reads one line from stdin, and exec's the program and arguments that line
// names (space-separated), keeping its pid. Discovery tests use it for a Go process that
// turns into something else.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		os.Exit(1)
	}
	argv := strings.Fields(line)
	if len(argv) == 0 {
		os.Exit(2)
	}
	err = syscall.Exec(argv[0], argv, os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(3)
}
