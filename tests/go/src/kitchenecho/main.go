// A grpc-go 1.33 server (Debian golang-google-grpc-dev, golang/protobuf 1.3) echoing the
// kitchen sink of @seed/grpc's tests/codegen/kitchen_sink.proto in every call kind: each message
// is parsed into Go structs and marshalled again, so what comes back is what Go's protobuf
// understood. tests/codegen_grpcgo_test.ts generates package kitchenpb with protoc-gen-go
// (proto3 `optional` spelled as the one-field oneof it stands for: the 1.3 plugin predates it)
// and builds this in GOPATH mode, like ../shared/bench/build.sh.
//
//   kitchenecho      prints "READY port=N"; SIGTERM stops it
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	pb "kitchenpb"
)

type echo struct{}

func (echo) Echo(_ context.Context, in *pb.KitchenSink) (*pb.KitchenSink, error) {
	return in, nil
}

func (echo) Repeat(in *pb.KitchenSink, stream pb.KitchenEcho_RepeatServer) error {
	for i := int32(0); i < in.GetScalars().GetFInt32(); i++ {
		if err := stream.Send(in); err != nil {
			return err
		}
	}
	return nil
}

func (echo) Last(stream pb.KitchenEcho_LastServer) error {
	last := &pb.KitchenSink{}
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(last)
		}
		if err != nil {
			return err
		}
		last = in
	}
}

func (echo) Chat(stream pb.KitchenEcho_ChatServer) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(in); err != nil {
			return err
		}
	}
}

func main() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	pb.RegisterKitchenEchoServer(s, echo{})
	fmt.Printf("READY port=%d\n", lis.Addr().(*net.TCPAddr).Port)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		s.Stop()
	}()
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
