// Command netserver is the grpc-go peer server of the real-link tests (tests/net): it serves
// bulk.Bulk's Upload and Download with 128 MiB message limits and prints "READY" once listening.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	pb "netpeer/pb"

	"google.golang.org/grpc"
)

type bulkServer struct {
	pb.UnimplementedBulkServer
}

func (bulkServer) Upload(_ context.Context, b *pb.Blob) (*pb.Size, error) {
	return &pb.Size{Size: int32(len(b.Data))}, nil
}

func (bulkServer) Download(req *pb.Size, stream pb.Bulk_DownloadServer) error {
	chunk := int(req.Chunk)
	if chunk <= 0 {
		chunk = 256 * 1024
	}
	msg := &pb.Blob{Data: make([]byte, chunk)}
	for left := int(req.Size); left > 0; left -= chunk {
		if left < chunk {
			msg.Data = msg.Data[:left]
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

func (bulkServer) Echo(_ context.Context, s *pb.Size) (*pb.Size, error) {
	return s, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(128<<20), grpc.MaxSendMsgSize(128<<20))
	pb.RegisterBulkServer(s, &bulkServer{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		s.Stop()
	}()
	fmt.Printf("READY port=%d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
