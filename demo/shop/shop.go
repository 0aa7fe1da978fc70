// Package shop holds what the demo services share: their messages, the two gRPC services
// (described by hand, so no generated code is needed), a JSON codec for them, and helpers.
//
// The messages are plain Go structs sent as JSON over gRPC (content subtype "json"), so a
// spec can capture their fields on the handlers' frames: req.User, req.RequestID, req.Item.
package shop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
)

// OrderRequest is what the gateway asks the orders service for.
type OrderRequest struct {
	RequestID string `json:"request_id"`
	User      string `json:"user"`
	Item      string `json:"item"`
	Quantity  int    `json:"quantity"`
	// ReceivedUnixMilli is when this service received the request (Unix time in ms; not sent).
	ReceivedUnixMilli int64 `json:"-"`
}

// OrderReply is the orders service's answer.
type OrderReply struct {
	OrderID   string `json:"order_id"`
	Remaining int    `json:"remaining"`
}

// ReserveRequest is what the orders service asks the inventory service for.
type ReserveRequest struct {
	RequestID string `json:"request_id"`
	User      string `json:"user"`
	Item      string `json:"item"`
	Quantity  int    `json:"quantity"`
	// ReceivedUnixMilli is when this service received the request (Unix time in ms; not sent).
	ReceivedUnixMilli int64 `json:"-"`
}

// ReserveReply is the inventory service's answer.
type ReserveReply struct {
	Remaining int `json:"remaining"`
}

// OrdersServer is the orders service.
type OrdersServer interface {
	PlaceOrder(ctx context.Context, req *OrderRequest) (*OrderReply, error)
}

// InventoryServer is the inventory service.
type InventoryServer interface {
	Reserve(ctx context.Context, req *ReserveRequest) (*ReserveReply, error)
}

// Full method names, for clients.
const (
	PlaceOrderMethod = "/demo.Orders/PlaceOrder"
	ReserveMethod    = "/demo.Inventory/Reserve"
)

// OrdersDesc describes the orders service to grpc.Server.RegisterService.
var OrdersDesc = grpc.ServiceDesc{
	ServiceName: "demo.Orders",
	HandlerType: (*OrdersServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "PlaceOrder",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(OrderRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			in.ReceivedUnixMilli = time.Now().UnixMilli()
			return srv.(OrdersServer).PlaceOrder(ctx, in)
		},
	}},
}

// InventoryDesc describes the inventory service to grpc.Server.RegisterService.
var InventoryDesc = grpc.ServiceDesc{
	ServiceName: "demo.Inventory",
	HandlerType: (*InventoryServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Reserve",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(ReserveRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			in.ReceivedUnixMilli = time.Now().UnixMilli()
			return srv.(InventoryServer).Reserve(ctx, in)
		},
	}},
}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

func init() { encoding.RegisterCodec(jsonCodec{}) }

// Dial connects to a demo gRPC service; calls are encoded as JSON.
func Dial(addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype("json")))
	if err != nil {
		Fail(err)
	}
	return conn
}

// ExitWithParent ends the process when its standard input closes, if lifeline is set: the
// demo's start script holds the other end, so a killed script never leaves a service behind.
func ExitWithParent(lifeline bool) {
	if !lifeline {
		return
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
}

// Listen opens a TCP listener and prints "listening ADDR" (the start script reads it).
func Listen(addr string) net.Listener {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		Fail(err)
	}
	fmt.Printf("listening %s\n", lis.Addr())
	return lis
}

// Fail prints the error and exits.
func Fail(err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
	os.Exit(1)
}
