"""grpcio (Python, Debian python3-grpcio) client against our bench server (bench/bench.proto).

usage: grpcio_client.py BENCH_PYTHON_DIR PORT
Uses the stubs ../shared/bench/build.sh generates. Prints "PASS grpcio" and exits 0, or prints
"FAIL grpcio: reason" as the last line and exits 1.
"""
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import bench_pb2  # noqa: E402
import bench_pb2_grpc  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main(port):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = bench_pb2_grpc.BenchStub(ch)
        body = bytes(range(100))
        r, call = stub.Unary.with_call(
            bench_pb2.Payload(body=body),
            metadata=[("x-text", "hello"), ("x-data-bin", b"\x00\xff")],
            timeout=10,
        )
        check(r.body == body, "unary echo")
        check(call.code() == grpc.StatusCode.OK, "unary status")
        msgs = list(stub.ServerStream(bench_pb2.StreamRequest(count=10, size=1000), timeout=10))
        check(len(msgs) == 10 and all(len(m.body) == 1000 for m in msgs), "server stream")
        r = stub.ClientStream(iter([bench_pb2.Payload(body=b"y" * 10)] * 5), timeout=10)
        check(r.body == b"", "client stream")
        out = list(stub.Bidi(iter([bench_pb2.Payload(body=bytes([i])) for i in range(5)]), timeout=10))
        check([m.body for m in out] == [bytes([i]) for i in range(5)], "bidi echo")
        try:
            ch.unary_unary("/bench.Bench/Nope")(b"", timeout=10)
            raise AssertionError("unknown method succeeded")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"unknown method: {e.code()}")
        try:
            stub.Unary(bench_pb2.Payload(body=b"z" * (5 << 20)), timeout=10)
            raise AssertionError("oversized request succeeded")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, f"oversized: {e.code()}")
        # The channel still works after the errors.
        check(stub.Unary(bench_pb2.Payload(body=b"ok"), timeout=10).body == b"ok", "after errors")


if __name__ == "__main__":
    try:
        main(int(sys.argv[2]))
    except Exception as e:  # noqa: BLE001
        print("FAIL grpcio: " + repr(e).replace("\n", " "))
        sys.exit(1)
    print("PASS grpcio")
