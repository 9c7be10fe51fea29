/** Constant-time equality for secrets (timing reveals neither content nor length). */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * True when `a` and `b` hold the same bytes. Both sides are first reduced to
 * SHA-256 digests so that timingSafeEqual always sees equal lengths and the
 * comparison time does not depend on where (or whether) the inputs differ.
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}
