// Command nicethreads runs goroutines locked to their OS threads, each of which gives its own
// thread a scheduling of its own: nice values 5, 10, 19 and -5, SCHED_BATCH at nice 3,
// SCHED_FIFO at priority 1 and SCHED_IDLE; every such thread then wakes every millisecond.
// It prints "thread TID nice N policy P" for each, then "ready PID". The pause must leave
// every thread's nice value and policy as it found them (test/proc/stop-boost.test.ts).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

const (
	schedOther = 0
	schedFIFO  = 1
	schedBatch = 3
	schedIdle  = 5
)

type setting struct {
	policy   int
	priority int32 // real-time priority (FIFO)
	nice     int
}

func main() {
	settings := []setting{
		{schedOther, 0, 5},
		{schedOther, 0, 10},
		{schedOther, 0, 19},
		{schedOther, 0, -5},
		{schedBatch, 0, 3},
		{schedFIFO, 1, 0},
		{schedIdle, 0, 0},
	}
	lines := make(chan string)
	for _, s := range settings {
		go func(s setting) {
			runtime.LockOSThread() // never unlocked: the thread keeps its scheduling
			tid := syscall.Gettid()
			if s.policy != schedOther {
				prio := s.priority
				_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(s.policy), uintptr(unsafe.Pointer(&prio)))
				if e != 0 {
					lines <- fmt.Sprintf("error sched_setscheduler %d: %v", s.policy, e)
					return
				}
			}
			if s.nice != 0 {
				if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, s.nice); err != nil {
					lines <- fmt.Sprintf("error setpriority %d: %v", s.nice, err)
					return
				}
			}
			lines <- fmt.Sprintf("thread %d nice %d policy %d", tid, s.nice, s.policy)
			for {
				time.Sleep(time.Millisecond)
			}
		}(s)
	}
	for range settings {
		fmt.Println(<-lines)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for {
		time.Sleep(time.Second)
	}
}
