// qshape: recipients still to deliver, per domain and age bucket, and the table qshape prints.
import assert from "node:assert/strict";
import {
  bucketHead,
  bucketIndex,
  formatShape,
  SHAPE_BUCKETS,
  shapeOf,
} from "../../src/cli/qshape.ts";
import type { QueuedMessage, QueuedRecipient } from "../../src/queue/types.ts";

const NOW = 1_800_000_000_000;
const MIN = 60_000;

function msg(
  id: string,
  ageMin: number,
  rcpts: [string, QueuedRecipient["status"]][],
): QueuedMessage {
  return {
    id,
    queue: "deferred",
    size: 100,
    attempts: 1,
    nextAttempt: 0,
    envelope: {
      sender: "a@x.test",
      arrivalTime: NOW - ageMin * MIN,
      recipients: rcpts.map(([address, status], index) => ({
        index,
        address,
        status,
        attempts: 1,
      })),
    },
  };
}

Deno.test("age buckets: 0-5m ... 640-1280m, then 1280m+; boundaries go to the older bucket", () => {
  assert.deepEqual(SHAPE_BUCKETS, [
    "0-5m",
    "5-10m",
    "10-20m",
    "20-40m",
    "40-80m",
    "80-160m",
    "160-320m",
    "320-640m",
    "640-1280m",
    "1280m+",
  ]);
  assert.equal(bucketIndex(0), 0);
  assert.equal(bucketIndex(5 * MIN - 1), 0);
  assert.equal(bucketIndex(5 * MIN), 1);
  assert.equal(bucketIndex(1279 * MIN), 8);
  assert.equal(bucketIndex(1280 * MIN), 9);
  assert.equal(bucketIndex(-10 * MIN), 0);
  assert.equal(bucketHead("0-5m"), "5");
  assert.equal(bucketHead("1280m+"), "1280+");
});

Deno.test("shape counts recipients still to deliver, per lower-cased domain, largest first", () => {
  const shape = shapeOf([
    msg("A", 1, [["x@Big.test", "deferred"], ["y@big.test", "pending"], ["z@small.test", "sent"]]),
    msg("B", 30, [["w@big.test", "deferred"], ["v@small.test", "deferred"]]),
    msg("C", 2000, [["u@other.test", "deferred"], ["t@big.test", "bounced"]]),
  ], NOW);
  assert.deepEqual(shape.total, { total: 5, counts: [2, 0, 0, 2, 0, 0, 0, 0, 0, 1] });
  assert.deepEqual(shape.rows.map((r) => [r.domain, r.total]), [
    ["big.test", 3],
    ["other.test", 1],
    ["small.test", 1],
  ]);
  assert.deepEqual(shape.rows[0].counts, [2, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
});

Deno.test("the qshape table: right-aligned domain column, T, then one column per bucket", () => {
  const shape = shapeOf([
    msg("A", 1, [["x@yahoo.com", "deferred"]]),
    msg(
      "B",
      3000,
      Array.from(
        { length: 12 },
        (_, i) => [`u${i}@extremepricecuts.net`, "deferred"] as [string, "deferred"],
      ),
    ),
  ], NOW);
  assert.equal(
    formatShape(shape),
    [
      "                      T  5 10 20 40 80 160 320 640 1280 1280+",
      "               TOTAL 13  1  0  0  0  0   0   0   0    0    12",
      "extremepricecuts.net 12  0  0  0  0  0   0   0   0    0    12",
      "           yahoo.com  1  1  0  0  0  0   0   0   0    0     0",
      "",
    ].join("\n"),
  );
  assert.equal(
    formatShape(shapeOf([], NOW)).split("\n")[1],
    "TOTAL  0  0  0  0  0  0   0   0   0    0     0",
  );
});
