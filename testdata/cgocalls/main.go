// Command cgocalls has C code of its own, so the Go linker hands the final link to the
// system linker (external linking): C start-up code then comes first in .text, before
// runtime.text, and the pclntab header leaves its text start to a relocation. Its
// goroutines sit where only cgo puts them: blocked in a C call, spinning in C, parked in Go
// code called back from C, and parked on a thread that C created.
//
// It prints "ready PID" once every goroutine is in place, then waits for a line on stdin; on
// it, it writes runtime.Stack(buf, true) (the oracle) followed by "END-OF-DUMP" and exits.
// It also exits when stdin closes, so a dead test never leaves it behind.
package main

/*
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

extern void goCallback(int);
extern void goFromCThread(void);

static void cSleep(void) { for (;;) sleep(1000); }

static uint64_t cSpin(uint64_t n) {
	volatile uint64_t x = 0;
	for (;;) x += n;
	return x;
}

static void cCallsGo(int n) { goCallback(n); }

static void *cThreadMain(void *arg) {
	(void)arg;
	goFromCThread();
	return 0;
}

static void cStartThread(void) {
	pthread_t t;
	pthread_create(&t, 0, cThreadMain, 0);
	pthread_detach(t);
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	started sync.WaitGroup
	forever = make(chan int)
)

//export goCallback
func goCallback(n C.int) {
	started.Done()
	<-forever // parked in Go, with C frames (and the cgo call) below
}

//export goFromCThread
func goFromCThread() {
	started.Done()
	<-forever // parked on a thread C created (Go's "extra M")
}

//go:noinline
func blockedInC() { C.cSleep() }

//go:noinline
func spinningInC() { C.cSpin(3) }

//go:noinline
func callsC() { C.cCallsGo(1) }

func main() {
	started.Add(2)
	go blockedInC()
	go spinningInC()
	go callsC()
	C.cStartThread()
	started.Wait()
	time.Sleep(200 * time.Millisecond) // the C calls are entered
	fmt.Println("ready", os.Getpid())

	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		os.Exit(0)
	}
	buf := make([]byte, 16<<20)
	n := runtime.Stack(buf, true)
	os.Stdout.Write(buf[:n])
	fmt.Println("\nEND-OF-DUMP")
	os.Exit(0)
}
