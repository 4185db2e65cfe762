// Test helpers for resolvers.

import type { ResolverClientConn, ResolverState } from "./resolver.ts";

/** A ResolverClientConn that records what it is told. */
export class RecordingCC implements ResolverClientConn {
  states: ResolverState[] = [];
  errors: Error[] = [];
  updateState(s: ResolverState): void {
    this.states.push(s);
  }
  reportError(e: Error): void {
    this.errors.push(e);
  }
}
