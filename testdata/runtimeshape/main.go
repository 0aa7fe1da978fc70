// Command runtimeshape links the parts of the runtime whose layout Periscope derives from
// DWARF: goroutines with pprof labels (runtime/pprof), maps, channels, mutexes.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
)

func main() {
	m := map[string]int{"a": 1, "b": 2}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int, 1)
	pprof.Do(context.Background(), pprof.Labels("request", "r1", "user", "u7"), func(ctx context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			ch <- m["a"] + len(os.Args)
			mu.Unlock()
		}()
	})
	wg.Wait()
	fmt.Println(<-ch, len(m))
}
