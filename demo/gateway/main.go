// Command gateway is the demo's HTTP front end: GET /order?user=U&item=I with an
// X-Request-Id header places an order at the orders service (gRPC).
//
// It counts failed requests per user in package variables (failuresByUser, lastFailure),
// which a spec captures on the main goroutine's frame (main.main).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"periscope.demo/shop"
)

var (
	failuresMu sync.Mutex
	// failuresByUser counts failed requests per user since the start.
	failuresByUser = map[string]int{}
	// lastFailure is the last error per user.
	lastFailure = map[string]string{}
)

type gateway struct {
	orders *grpc.ClientConn
}

// handleOrder is the HTTP handler of /order.
func (g *gateway) handleOrder(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	qty, _ := strconv.Atoi(q.Get("qty"))
	if qty <= 0 {
		qty = 1
	}
	req := &shop.OrderRequest{
		RequestID:         r.Header.Get("X-Request-Id"),
		User:              q.Get("user"),
		Item:              q.Get("item"),
		Quantity:          qty,
		ReceivedUnixMilli: time.Now().UnixMilli(),
	}
	var reply *shop.OrderReply
	var err error
	labels := pprof.Labels("service", "gateway", "user", req.User, "request_id", req.RequestID, "item", req.Item)
	pprof.Do(r.Context(), labels, func(ctx context.Context) {
		reply, err = g.placeOrder(ctx, req)
	})
	if err != nil {
		recordFailure(req, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply)
}

// placeOrder calls the orders service.
//
//go:noinline
func (g *gateway) placeOrder(ctx context.Context, req *shop.OrderRequest) (*shop.OrderReply, error) {
	reply := new(shop.OrderReply)
	if err := g.orders.Invoke(ctx, shop.PlaceOrderMethod, req, reply); err != nil {
		return nil, fmt.Errorf("order %s for %s: %s", req.RequestID, req.User, status.Convert(err).Message())
	}
	return reply, nil
}

// recordFailure counts a failed request for its user.
func recordFailure(req *shop.OrderRequest, err error) {
	failuresMu.Lock()
	defer failuresMu.Unlock()
	failuresByUser[req.User]++
	lastFailure[req.User] = err.Error()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	orders := flag.String("orders", "", "address of the orders service")
	lifeline := flag.Bool("lifeline", false, "exit when stdin closes")
	flag.Parse()
	shop.ExitWithParent(*lifeline)
	if *orders == "" {
		shop.Fail(fmt.Errorf("-orders ADDR is required"))
	}
	g := &gateway{orders: shop.Dial(*orders)}
	shop.Fail(g.serve(shop.Listen(*listen)))
}

// serve answers HTTP requests until the listener fails. The main goroutine stays in it for
// the life of the process: the demo's spec reads failuresByUser and lastFailure on its frame.
//
//go:noinline
func (g *gateway) serve(lis net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/order", g.handleOrder)
	return http.Serve(lis, mux)
}
