// The passthrough resolver: the endpoint goes to the dialler as it is (a host name is resolved
// by Deno.connect, not by us). grpc-go: internal/resolver/passthrough.

import {
  markFixedListResolver,
  registerResolver,
  type Resolver,
  type ResolverClientConn,
  type Target,
} from "./resolver.ts";

function passthrough(target: Target, cc: ResolverClientConn): Resolver {
  if (target.endpoint === "") {
    throw new TypeError(`Cannot parse target ${JSON.stringify(target.raw)}: no address`);
  }
  cc.updateState({ addresses: [{ addr: target.endpoint }] });
  return { resolveNow() {}, close() {} };
}

registerResolver("passthrough", markFixedListResolver(passthrough));
