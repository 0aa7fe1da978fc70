// Command orders is the demo's orders service (gRPC, demo.Orders/PlaceOrder): it checks the
// user's billing account and reserves the item at the inventory service.
//
// One user has no billing account ("carol"): every order of hers fails here.
package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/pprof"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"periscope.demo/shop"
)

// accounts are the billing accounts per user; carol's is missing (the demo's failing user).
var accounts = map[string]string{
	"alice": "acct-1001",
	"bob":   "acct-1002",
	"dave":  "acct-1004",
	"erin":  "acct-1005",
}

type ordersServer struct {
	inventory *grpc.ClientConn
	placed    atomic.Int64
}

// PlaceOrder is the RPC handler: it labels the goroutine with the request and places it.
func (s *ordersServer) PlaceOrder(ctx context.Context, req *shop.OrderRequest) (reply *shop.OrderReply, err error) {
	labels := pprof.Labels("service", "orders", "user", req.User, "request_id", req.RequestID, "item", req.Item)
	pprof.Do(ctx, labels, func(ctx context.Context) {
		reply, err = s.placeOrder(ctx, req)
	})
	return reply, err
}

// placeOrder checks the account and reserves the item (a gRPC call to inventory).
//
//go:noinline
func (s *ordersServer) placeOrder(ctx context.Context, req *shop.OrderRequest) (*shop.OrderReply, error) {
	account, ok := accounts[req.User]
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "no billing account for user %q", req.User)
	}
	res := new(shop.ReserveReply)
	reserve := &shop.ReserveRequest{RequestID: req.RequestID, User: req.User, Item: req.Item, Quantity: req.Quantity}
	if err := s.inventory.Invoke(ctx, shop.ReserveMethod, reserve, res); err != nil {
		return nil, fmt.Errorf("request %s: reserve %s: %w", req.RequestID, req.Item, err)
	}
	n := s.placed.Add(1)
	return &shop.OrderReply{OrderID: fmt.Sprintf("%s-%d-%s", account, n, req.RequestID), Remaining: res.Remaining}, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	inventory := flag.String("inventory", "", "address of the inventory service")
	lifeline := flag.Bool("lifeline", false, "exit when stdin closes")
	flag.Parse()
	shop.ExitWithParent(*lifeline)
	if *inventory == "" {
		shop.Fail(fmt.Errorf("-inventory ADDR is required"))
	}
	srv := &ordersServer{inventory: shop.Dial(*inventory)}
	g := grpc.NewServer()
	g.RegisterService(&shop.OrdersDesc, srv)
	if err := g.Serve(shop.Listen(*listen)); err != nil {
		shop.Fail(err)
	}
}
