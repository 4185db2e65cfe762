// Command errdetails checks rich error details (google.rpc.Status with errdetails messages in
// grpc-status-details-bin) between grpc-go and @seed/grpc, byte for byte. Built from Debian's
// grpc-go 1.33 and genproto (GOPATH mode) by tests/go/build.sh; run by tests/grpcgo_errdetails_test.ts.
//
//	errdetails -mode server
//	    Serves /errdet.Details/Fail (google.protobuf.Empty in and out), which fails
//	    INVALID_ARGUMENT "bad request" with status.WithDetails(the fixture below); prints
//	    "READY port=N".
//	errdetails -mode client -addr HOST:PORT
//	    Calls /errdet.Details/Fail and checks the status: code, message, and every detail
//	    decoded typed (equal to the fixture, in order) with its bytes equal to Go's
//	    deterministic marshaling of the fixture. Prints "PASS errdetails" (exit 0) or
//	    "FAIL errdetails: reason" (exit 1).
//
// The fixture uses the fields of genproto 2020 (Debian's), and maps of one entry, whose
// encoding does not depend on Go's map order.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes/duration"
	"github.com/golang/protobuf/ptypes/empty"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fixture is the same list, in the same order, as FIXTURE in tests/grpcgo_errdetails_test.ts.
func fixture() []proto.Message {
	return []proto.Message{
		&errdetails.ErrorInfo{Reason: "STOCKOUT", Domain: "spanner.example.com",
			Metadata: map[string]string{"availableRegions": "us-central1,us-east2"}},
		&errdetails.RetryInfo{RetryDelay: &duration.Duration{Seconds: 3, Nanos: 500000000}},
		&errdetails.DebugInfo{StackEntries: []string{"main.go:42", "server.go:7"}, Detail: "nil map"},
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
			{Subject: "clientip:192.0.2.1", Description: "Daily Limit exceeded"},
			{Subject: "project:7"},
		}},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{
			{Type: "TOS", Subject: "example.com/terms", Description: "Terms not accepted"},
		}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "email", Description: "not an email address"},
			{Field: "age", Description: "must be ≥ 0"},
		}},
		&errdetails.RequestInfo{RequestId: "req-0042", ServingData: "shard=7"},
		&errdetails.ResourceInfo{ResourceType: "sql table", ResourceName: "users",
			Owner: "user:ada@example.com", Description: "needs writer"},
		&errdetails.Help{Links: []*errdetails.Help_Link{
			{Description: "Quotas", Url: "https://example.com/quotas"},
		}},
		&errdetails.LocalizedMessage{Locale: "fr-CH", Message: "Requête invalide ☺"},
	}
}

func fail(ctx context.Context, _ *empty.Empty) (*empty.Empty, error) {
	st, err := status.New(codes.InvalidArgument, "bad request").WithDetails(fixture()...)
	if err != nil {
		return nil, err
	}
	return nil, st.Err()
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "errdet.Details",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Fail",
		Handler: func(_ interface{}, ctx context.Context, dec func(interface{}) error,
			_ grpc.UnaryServerInterceptor) (interface{}, error) {
			in := new(empty.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			return fail(ctx, in)
		},
	}},
	Streams: []grpc.StreamDesc{},
}

func serve() error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	s.RegisterService(&serviceDesc, struct{}{})
	fmt.Printf("READY port=%d\n", lis.Addr().(*net.TCPAddr).Port)
	return s.Serve(lis)
}

func deterministic(m proto.Message) ([]byte, error) {
	var b proto.Buffer
	b.SetDeterministic(true)
	if err := b.Marshal(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func check(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		return fmt.Errorf("dial: %v", err)
	}
	defer conn.Close()
	err = conn.Invoke(ctx, "/errdet.Details/Fail", &empty.Empty{}, &empty.Empty{})
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return fmt.Errorf("want a status error, got %v", err)
	}
	if st.Code() != codes.InvalidArgument || st.Message() != "bad request" {
		return fmt.Errorf("status %v %q", st.Code(), st.Message())
	}
	want := fixture()
	anys := st.Proto().GetDetails()
	if len(anys) != len(want) {
		return fmt.Errorf("%d details, want %d", len(anys), len(want))
	}
	got := st.Details()
	for i, w := range want {
		name := proto.MessageName(w)
		if anys[i].GetTypeUrl() != "type.googleapis.com/"+name {
			return fmt.Errorf("detail %d: type URL %q", i, anys[i].GetTypeUrl())
		}
		m, isMsg := got[i].(proto.Message)
		if !isMsg {
			return fmt.Errorf("detail %d (%s): %v", i, name, got[i])
		}
		if !proto.Equal(m, w) {
			return fmt.Errorf("detail %d: got %v, want %v", i, m, w)
		}
		exact, err := deterministic(w)
		if err != nil {
			return err
		}
		if !bytes.Equal(anys[i].GetValue(), exact) {
			return fmt.Errorf("detail %d (%s): bytes %x, Go marshals %x", i, name,
				anys[i].GetValue(), exact)
		}
	}
	return nil
}

func main() {
	mode := flag.String("mode", "", "server or client")
	addr := flag.String("addr", "", "client: the server's HOST:PORT")
	flag.Parse()
	switch *mode {
	case "server":
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "client":
		if err := check(*addr); err != nil {
			fmt.Printf("FAIL errdetails: %v\n", err)
			os.Exit(1)
		}
		fmt.Println("PASS errdetails")
	default:
		fmt.Fprintln(os.Stderr, "usage: errdetails -mode server|client [-addr HOST:PORT]")
		os.Exit(2)
	}
}
