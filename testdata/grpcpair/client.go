//go:build !serveronly

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// callUnary makes the Pair/Block RPC; it stays in flight until the server is released.
//
//go:noinline
func callUnary(conn *grpc.ClientConn, done chan<- error) {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(context.Background(), "/"+service+"/Block", wrapperspb.String(fmt.Sprintf("unary %d", os.Getpid())), out)
	done <- err
}

// callStream opens Pair/Chat, sends one message and waits for the answer.
//
//go:noinline
func callStream(conn *grpc.ClientConn, done chan<- error) {
	sd := &grpc.StreamDesc{StreamName: "Chat", ServerStreams: true, ClientStreams: true}
	stream, err := conn.NewStream(context.Background(), sd, "/"+service+"/Chat")
	if err != nil {
		done <- err
		return
	}
	if err := stream.SendMsg(wrapperspb.String(fmt.Sprintf("stream %d", os.Getpid()))); err != nil {
		done <- err
		return
	}
	out := new(wrapperspb.StringValue)
	done <- stream.RecvMsg(out)
}

func runClient(addr, mode string, atLeast int) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	done := make(chan error, 2)
	want := 0
	if mode == "unary" || mode == "both" {
		go callUnary(conn, done)
		want++
	}
	if mode == "stream" || mode == "both" {
		go callStream(conn, done)
		want++
	}
	// Ready once the server has this many handlers blocked (ours, plus those of clients
	// started before us: the test says how many in all).
	if atLeast < want {
		atLeast = want
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := new(wrapperspb.Int64Value)
		if err := conn.Invoke(context.Background(), "/"+service+"/Blocked", wrapperspb.String(""), n); err != nil {
			fail(err)
		}
		if n.GetValue() >= int64(atLeast) {
			break
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the server has %d handlers blocked, want %d", n.GetValue(), atLeast))
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for i := 0; i < want; i++ {
		if err := <-done; err != nil {
			fail(err)
		}
	}
	fmt.Println("done")
}
