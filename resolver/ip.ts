// The ipv4 and ipv6 resolvers: fixed address lists, `ipv4:10.0.0.1:50051,10.0.0.2:50051` and
// `ipv6:[::1]:50051,[::2]`. As in gRPC C-core and grpc-js (grpc-go has no such scheme); a missing
// port is 443.

import {
  isIPv4,
  isIPv6,
  joinHostPort,
  markFixedListResolver,
  registerResolver,
  type Resolver,
  type ResolverClientConn,
  splitHostPort,
  type Target,
} from "./resolver.ts";

function ipResolver(v6: boolean) {
  return (target: Target, cc: ResolverClientConn): Resolver => {
    if (target.authority !== "") {
      throw new TypeError(
        `Cannot parse target ${JSON.stringify(target.raw)}: no authority allowed`,
      );
    }
    const addresses = target.endpoint.split(",").map((part) => {
      // A bare IPv6 literal is an address without a port here (the scheme says it is IPv6).
      const { host, port } = v6 && isIPv6(part)
        ? { host: part, port: 443 }
        : splitHostPort(part, 443);
      if (!(v6 ? isIPv6(host) : isIPv4(host))) {
        throw new TypeError(
          `Cannot parse target ${JSON.stringify(target.raw)}: ${JSON.stringify(part)} is not an ` +
            `IPv${v6 ? 6 : 4} address`,
        );
      }
      return { addr: joinHostPort(host, port) };
    });
    cc.updateState({ addresses });
    return { resolveNow() {}, close() {} };
  };
}

registerResolver("ipv4", markFixedListResolver(ipResolver(false)));
registerResolver("ipv6", markFixedListResolver(ipResolver(true)));
