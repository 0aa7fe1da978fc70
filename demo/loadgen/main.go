// Command loadgen is the demo's load: a few users, each placing one order at a time at the
// gateway and thinking about a second between orders (a few requests per second in all).
//
// dave orders the stuck item (-stuck-item) once after -stuck-after, then every -stuck-every.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"periscope.demo/shop"
)

// order is one request of a user.
type order struct {
	RequestID     string
	User          string
	Item          string
	SentUnixMilli int64 // when it was sent (Unix time in ms)
}

type client struct {
	gateway string
	http    *http.Client
	seq     atomic.Int64
	stuck   string
	after   time.Duration
	every   time.Duration
	think   time.Duration
	start   time.Time
}

// send places one order at the gateway and waits for the answer.
//
//go:noinline
func (c *client) send(o *order) (int, error) {
	u := c.gateway + "/order?" + url.Values{"user": {o.User}, "item": {o.Item}}.Encode()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Request-Id", o.RequestID)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", o.RequestID, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// user places orders one after the other.
func (c *client) user(name string) {
	pprof.Do(context.Background(), pprof.Labels("service", "loadgen", "user", name), func(context.Context) {
		nextStuck := c.start.Add(c.after)
		for {
			item := fmt.Sprintf("sku-%d", 1+rand.Intn(12))
			if name == "dave" && time.Now().After(nextStuck) {
				item = c.stuck
				nextStuck = time.Now().Add(c.every)
			}
			o := &order{RequestID: fmt.Sprintf("req-%06d", c.seq.Add(1)), User: name, Item: item, SentUnixMilli: time.Now().UnixMilli()}
			if _, err := c.send(o); err != nil {
				time.Sleep(time.Second)
			}
			time.Sleep(c.think/2 + time.Duration(rand.Int63n(int64(c.think))))
		}
	})
}

func main() {
	gateway := flag.String("gateway", "", "the gateway's URL, e.g. http://127.0.0.1:8080")
	users := flag.String("users", "alice,bob,carol,dave,erin", "the users, comma-separated")
	stuck := flag.String("stuck-item", "sku-13", "the item dave orders now and then")
	after := flag.Duration("stuck-after", 3*time.Second, "when dave first orders the stuck item")
	every := flag.Duration("stuck-every", 15*time.Minute, "how often dave orders it again")
	think := flag.Duration("think", time.Second, "mean pause between a user's orders")
	lifeline := flag.Bool("lifeline", false, "exit when stdin closes")
	flag.Parse()
	shop.ExitWithParent(*lifeline)
	if *gateway == "" {
		shop.Fail(fmt.Errorf("-gateway URL is required"))
	}
	c := &client{
		gateway: strings.TrimSuffix(*gateway, "/"),
		http:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		stuck:   *stuck, after: *after, every: *every, think: *think, start: time.Now(),
	}
	names := strings.Split(*users, ",")
	for _, name := range names[1:] {
		go c.user(name)
	}
	c.user(names[0])
}
