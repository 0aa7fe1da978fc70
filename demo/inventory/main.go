// Command inventory is the demo's inventory service (gRPC, demo.Inventory/Reserve).
//
// It has the bug the demo is about: one global mutex guards the stock, and it is held while
// the ledger is written, a slow operation (writeLedger). Requests queue behind each other on
// sync.Mutex.Lock, and one item (-stuck-item, "sku-13") makes writeLedger hang for a long
// time (-stuck-for) with the lock held: every other reservation waits for it.
//
// Apart from the lock, a price check (refreshPrices) quotes an item every -quote-every: it
// keeps running while reservations are stuck, so a probe on quote has calls to show.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"periscope.demo/shop"
)

// stockMu guards stock. The bug: it is held across writeLedger.
var stockMu sync.Mutex

// lockWaitNanos is the total time requests waited for stockMu.
var lockWaitNanos atomic.Int64

// stock is the number of units left per item.
var stock = map[string]int{}

type inventoryServer struct {
	stuckItem string
	stuckFor  time.Duration
	ledgerMin time.Duration
	ledgerMax time.Duration
}

// Reserve is the RPC handler: it labels the goroutine with the request and reserves.
func (s *inventoryServer) Reserve(ctx context.Context, req *shop.ReserveRequest) (reply *shop.ReserveReply, err error) {
	labels := pprof.Labels("service", "inventory", "user", req.User, "request_id", req.RequestID, "item", req.Item)
	pprof.Do(ctx, labels, func(context.Context) {
		reply, err = s.reserve(req)
	})
	return reply, err
}

// reserve takes units of an item out of stock.
//
//go:noinline
func (s *inventoryServer) reserve(req *shop.ReserveRequest) (*shop.ReserveReply, error) {
	waitStart := time.Now()
	stockMu.Lock()
	defer stockMu.Unlock()
	lockWaitNanos.Add(time.Since(waitStart).Nanoseconds())
	left, err := s.commitStock(req)
	if err != nil {
		return nil, status.Errorf(codes.ResourceExhausted, "request %s: %v", req.RequestID, err)
	}
	return &shop.ReserveReply{Remaining: left}, nil
}

// commitStock is the critical section: it runs with stockMu held.
//
//go:noinline
func (s *inventoryServer) commitStock(req *shop.ReserveRequest) (int, error) {
	left := stock[req.Item]
	if left < req.Quantity {
		left += 1000 // restock
	}
	left -= req.Quantity
	s.writeLedger(req, left)
	stock[req.Item] = left
	return left, nil
}

// writeLedger stands for a slow write to a remote ledger; for the stuck item it hangs.
//
//go:noinline
func (s *inventoryServer) writeLedger(req *shop.ReserveRequest, left int) {
	d := s.ledgerMin + time.Duration(rand.Int63n(int64(s.ledgerMax-s.ledgerMin)+1))
	if req.Item == s.stuckItem {
		d = s.stuckFor
	}
	time.Sleep(d)
	if left < 0 {
		fmt.Println("negative stock for", req.Item)
	}
}

// refreshPrices quotes the items one after the other, one every `every`, without stockMu.
func refreshPrices(every time.Duration) {
	for i := 0; ; i++ {
		quote(fmt.Sprintf("sku-%d", 1+i%12), 1+i%3)
		time.Sleep(every)
	}
}

// quote is the price of qty units of item, in cents.
//
//go:noinline
func quote(item string, qty int) int {
	cents := 250
	for _, c := range item {
		cents += int(c) % 7 * 40
	}
	return qty * cents
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	stuckItem := flag.String("stuck-item", "sku-13", "the item whose ledger write hangs")
	stuckFor := flag.Duration("stuck-for", 10*time.Minute, "how long it hangs")
	ledgerMin := flag.Duration("ledger-min", 60*time.Millisecond, "shortest ledger write")
	ledgerMax := flag.Duration("ledger-max", 220*time.Millisecond, "longest ledger write")
	quoteEvery := flag.Duration("quote-every", 250*time.Millisecond, "how often the price check quotes an item")
	lifeline := flag.Bool("lifeline", false, "exit when stdin closes")
	flag.Parse()
	shop.ExitWithParent(*lifeline)
	go refreshPrices(*quoteEvery)
	srv := &inventoryServer{stuckItem: *stuckItem, stuckFor: *stuckFor, ledgerMin: *ledgerMin, ledgerMax: *ledgerMax}
	g := grpc.NewServer()
	g.RegisterService(&shop.InventoryDesc, srv)
	if err := g.Serve(shop.Listen(*listen)); err != nil {
		shop.Fail(err)
	}
}
