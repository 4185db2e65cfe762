// A grpc-go 1.33 server (Debian golang-google-grpc-dev) with the services it ships: health and
// server reflection, which grpc-go before 1.45 serves only as v1alpha. @seed/grpc's
// tests/cli_grpcgo_test.ts builds it (GOPATH mode, like ../shared/bench/build.sh) and points the
// CLI at it to check the v1alpha fallback against a real older server.
//
//   reflectionpeer      prints "READY port=N"; SIGTERM stops it
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func main() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("down.Service", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
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
