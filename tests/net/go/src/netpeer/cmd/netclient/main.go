// Command netclient is the grpc-go peer client of the real-link tests (tests/net): one 64 MiB
// (-size) unary Upload or server-streamed Download, timed, printed as one JSON line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	pb "netpeer/pb"

	"google.golang.org/grpc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "server address")
	mode := flag.String("mode", "upload", "upload or download")
	size := flag.Int("size", 64<<20, "bytes to transfer")
	chunk := flag.Int("chunk", 256*1024, "download message size")
	flag.Parse()
	conn, err := grpc.Dial(*addr, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)))
	if err != nil {
		log.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	c := pb.NewBulkClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	got := 0
	switch *mode {
	case "upload":
		r, err := c.Upload(ctx, &pb.Blob{Data: make([]byte, *size)})
		if err != nil {
			log.Fatalf("upload: %v", err)
		}
		got = int(r.Size)
	case "download":
		st, err := c.Download(ctx, &pb.Size{Size: int32(*size), Chunk: int32(*chunk)})
		if err != nil {
			log.Fatalf("download: %v", err)
		}
		for {
			m, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				log.Fatalf("download: %v", err)
			}
			got += len(m.Data)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	out, _ := json.Marshal(map[string]interface{}{
		"mode": *mode, "bytes": got, "ms": ms, "mibps": float64(got) / (1 << 20) / (ms / 1000),
	})
	fmt.Println(string(out))
}
