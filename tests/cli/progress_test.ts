// Bulk operations report progress on stderr only when they take long.
import assert from "node:assert/strict";
import { Progress } from "../../src/cli/progress.ts";

Deno.test("progress: silent for a quick job, then at most one line a second, and a closing line", () => {
  let now = 0;
  const lines: string[] = [];
  const quick = new Progress("delete", 10, (l) => lines.push(l), () => now);
  now = 500;
  quick.update(10);
  quick.finish(10);
  assert.equal(lines.length, 0);

  now = 0;
  const slow = new Progress("delete", 3000, (l) => lines.push(l), () => now);
  now = 1200;
  slow.update(500);
  now = 1700;
  slow.update(1000); // too soon after the last line
  now = 2300;
  slow.update(1500);
  slow.finish(3000);
  assert.deepEqual(lines, [
    "delete: 500 of 3000 messages",
    "delete: 1500 of 3000 messages",
    "delete: 3000 of 3000 messages, done",
  ]);
});
