// gRPC header values on flat header lists ([name0, value0, name1, value1, …]), for both sides
// and metadata.ts: looking one up, the gRPC content-type test, binary (`-bin`) values, and the
// field-value check (RFC 9113 §8.2.1).

/** The first value of header `name` in a flat list, or `undefined` (also for no list). */
export function headerValue(list: readonly string[] | null, name: string): string | undefined {
  if (list === null) return undefined;
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/** Whether a content-type is gRPC's: `application/grpc`, optionally `+proto`… or `;…`. */
export function isGrpcContentType(ct: string): boolean {
  return ct.startsWith("application/grpc") &&
    (ct.length === 16 || ct.charCodeAt(16) === 43 /* + */ || ct.charCodeAt(16) === 59 /* ; */);
}

/** A binary header value (`-bin` keys): base64, unpadded, as gRPC sends them. */
export function encodeBinaryHeader(b: Uint8Array): string {
  return b.toBase64({ omitPadding: true });
}

// PROTOCOL-HTTP2.md: "Implementations MUST accept padded and un-padded values". We also accept
// the URL-safe alphabet.
/** Decodes a binary header value; `undefined` if it is not base64. */
export function decodeBinaryHeader(value: string): Uint8Array | undefined {
  let urlSafe = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2d || c === 0x5f) { // "-" or "_"
      urlSafe = true;
      break;
    }
  }
  try {
    return Uint8Array.fromBase64(value, {
      alphabet: urlSafe ? "base64url" : "base64",
      lastChunkHandling: "loose",
    });
  } catch {
    return undefined;
  }
}

/**
 * Whether a header list has a field value with NUL, CR or LF, which makes the message malformed
 * (RFC 9113 §8.2.1). `list` is flat: [name, value, …].
 */
export function hasInvalidFieldValue(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i += 2) {
    const v = list[i];
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      if (c <= 13 && (c === 0 || c === 10 || c === 13)) return true;
    }
  }
  return false;
}
