// Command traced-load is the load of bench/traces.ts: it sends GET requests to each URL given
// at a fixed rate for a fixed time (open loop: one request every 1/rate s per URL, each on its
// own goroutine, over keep-alive connections), every 100th one for user "mallory" (an error),
// the others for "alice", and prints one JSON line per URL with the achieved rate and the
// latency percentiles in microseconds (from the request's start to its body's end).
//
// Usage: traced-load -rate 1000 -seconds 20 -warmup 3 URL...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

type result struct {
	URL    string  `json:"url"`
	Sent   int     `json:"sent"`
	Errors int     `json:"errors"`
	RPS    float64 `json:"rps"`
	P50    float64 `json:"p50us"`
	P90    float64 `json:"p90us"`
	P99    float64 `json:"p99us"`
	Max    float64 `json:"maxus"`
}

func main() {
	rate := flag.Int("rate", 1000, "requests a second per URL")
	seconds := flag.Float64("seconds", 20, "measured seconds")
	warmup := flag.Float64("warmup", 3, "seconds sent before measuring")
	flag.Parse()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024}}
	urls := flag.Args()
	var mu sync.Mutex
	lat := make([][]float64, len(urls))
	errs := make([]int, len(urls))
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	measureFrom := start.Add(time.Duration(*warmup * float64(time.Second)))
	end := measureFrom.Add(time.Duration(*seconds * float64(time.Second)))
	n := 0
	for next := start; next.Before(end); next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		user := "alice"
		if n%100 == 99 {
			user = "mallory"
		}
		n++
		measured := !next.Before(measureFrom)
		for i, u := range urls {
			wg.Add(1)
			go func(i int, u string) {
				defer wg.Done()
				t0 := time.Now()
				r, err := client.Get(u + "?user=" + user)
				if err == nil {
					_, err = io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
				us := float64(time.Since(t0).Nanoseconds()) / 1e3
				if !measured {
					return
				}
				mu.Lock()
				lat[i] = append(lat[i], us)
				if err != nil {
					errs[i]++
				}
				mu.Unlock()
			}(i, u)
		}
	}
	wg.Wait()
	for i, u := range urls {
		l := lat[i]
		sort.Float64s(l)
		q := func(p float64) float64 {
			if len(l) == 0 {
				return 0
			}
			return l[int(p*float64(len(l)-1))]
		}
		out, _ := json.Marshal(result{URL: u, Sent: len(l), Errors: errs[i], RPS: float64(len(l)) / *seconds,
			P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: q(1)})
		fmt.Println(string(out))
	}
	os.Exit(0)
}
