// The unix and unix-abstract resolvers: `unix:path`, `unix:///abs/path`, `unix-abstract:name`.
// grpc-go: internal/resolver/unix (the authority must be empty).

import {
  markFixedListResolver,
  registerResolver,
  type Resolver,
  type ResolverClientConn,
  type Target,
} from "./resolver.ts";

function unixResolver(abstract: boolean) {
  return (target: Target, cc: ResolverClientConn): Resolver => {
    const bad = (why: string): never => {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target.raw)}: ${why}`);
    };
    if (target.authority !== "") bad("a unix target has no authority (unix:///abs/path)");
    // grpc-go reads the URL path (with its "/") when the target is hierarchical.
    const path = target.hierarchical ? `/${target.endpoint}` : target.endpoint;
    if (path === "" || path === "/") bad("no path");
    cc.updateState({ addresses: [{ addr: abstract ? `\0${path}` : path, transport: "unix" }] });
    return { resolveNow() {}, close() {} };
  };
}

registerResolver("unix", markFixedListResolver(unixResolver(false)));
registerResolver("unix-abstract", markFixedListResolver(unixResolver(true)));
