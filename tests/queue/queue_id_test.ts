import assert from "node:assert/strict";
import { isQueueId, newQueueId } from "../../src/queue/mod.ts";
import { nextQueueId, type QueueIdState } from "../../src/queue/queue_id.ts";

Deno.test("queue ids are 12 upper-case base-36 characters, unique and increasing", () => {
  const ids = Array.from({ length: 20_000 }, () => newQueueId());
  for (const id of ids) assert.match(id, /^[0-9A-Z]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  const sorted = [...ids].sort();
  assert.deepEqual(sorted, ids);
  assert.ok(isQueueId(ids[0]));
});

Deno.test("queue ids stay increasing when the clock goes backwards", () => {
  const state: QueueIdState = { lastTime: -1, seq: 0 };
  const a = nextQueueId(2_000_000_000_000, state, () => 5);
  const b = nextQueueId(1_999_999_999_000, state, () => 5);
  const c = nextQueueId(2_000_000_000_000, state, () => 5);
  assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
});

Deno.test("queue id time prefix orders ids across milliseconds, sequence overflow borrows a millisecond", () => {
  const state: QueueIdState = { lastTime: -1, seq: 0 };
  const first = nextQueueId(1_700_000_000_000, state, () => 36 ** 4 - 1);
  const overflow = nextQueueId(1_700_000_000_000, state, () => 0);
  assert.equal(first.slice(0, 8), (1_700_000_000_000).toString(36).toUpperCase().padStart(8, "0"));
  assert.equal(
    overflow.slice(0, 8),
    (1_700_000_000_001).toString(36).toUpperCase().padStart(8, "0"),
  );
  assert.ok(first < overflow);
});

Deno.test("isQueueId rejects what could not be a queue id", () => {
  for (const bad of ["", "ABC", "../etc/passwd", "ABCDEF GHIJ", "ÄBCDEFGHIJ"]) {
    assert.equal(isQueueId(bad), false, bad);
  }
});
