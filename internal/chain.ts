// Interceptor chaining, in one place for both sides: the first interceptor is the outermost, and
// each one gets the rest of the chain as its `next` (grpc-go chainUnaryInterceptors and friends,
// client and server).

/**
 * Wraps `last` in `interceptors`, the first outermost: `link(interceptor, next)` makes the step
 * that runs `interceptor` with `next` as the rest of the chain.
 */
export function chainInterceptors<I, Next>(
  interceptors: readonly I[],
  last: Next,
  link: (interceptor: I, next: Next) => Next,
): Next {
  let next = last;
  for (let i = interceptors.length - 1; i >= 0; i--) next = link(interceptors[i], next);
  return next;
}
