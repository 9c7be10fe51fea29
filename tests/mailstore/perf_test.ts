/**
 * Store performance, printed for BENCHMARKS.md: delivery rate through the
 * store (with a session's store open, so every message is indexed and
 * announced), and sync time of a 10,000-message mailbox at first open
 * (empty index) and at re-open. Bounds are loose: they catch a quadratic
 * slip, not a slow machine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeMailstore, deliverToStore, openMailstore } from "../../src/mailstore/mod.ts";
import { enc, tempRoot } from "./helpers.ts";

const BODY = enc.encode(
  "From: a@example.test\r\nTo: b@example.test\r\nSubject: perf\r\n\r\n" +
    "line of text\r\n".repeat(100),
);

Deno.test("perf: delivery rate through the store, open and not open", async () => {
  const root = await tempRoot();
  const n = 1000;
  let t = performance.now();
  for (let i = 0; i < n; i++) {
    await deliverToStore(root, BODY, { queueId: `Q${i}`, key: "0", arrivalMs: Date.now() });
  }
  const closedRate = n / ((performance.now() - t) / 1000);
  const store = await openMailstore(root);
  const inbox = await store.mailbox("INBOX");
  let heard = 0;
  inbox.on((c) => (heard += c.kind === "exists" ? c.uids.length : 0));
  t = performance.now();
  for (let i = 0; i < n; i++) {
    await deliverToStore(root, BODY, { queueId: `R${i}`, key: "0", arrivalMs: Date.now() });
  }
  const openRate = n / ((performance.now() - t) / 1000);
  assert.equal(heard, n);
  assert.equal(inbox.uids().length, 2 * n);
  console.log(
    `delivery (fsync'd, ${BODY.length} bytes): ${closedRate.toFixed(0)} msg/s without a session, ` +
      `${openRate.toFixed(0)} msg/s with the store open (indexed + notified)`,
  );
  await closeMailstore(store);
  await Deno.remove(join(root, ".."), { recursive: true });
});

Deno.test("perf: sync of a 10,000-message mailbox, first open and re-open", async () => {
  const root = await tempRoot();
  await Deno.mkdir(join(root, "cur"), { recursive: true });
  const data = BODY.subarray(0, 200);
  for (let i = 0; i < 10_000; i++) {
    const flags = i % 3 === 0 ? "S" : "";
    await Deno.writeFile(
      join(root, "cur", `${1700000000 + i}.M${i}P1.host,S=200:2,${flags}`),
      data,
    );
  }
  let t = performance.now();
  let store = await openMailstore(root);
  let inbox = await store.mailbox("INBOX");
  const first = performance.now() - t;
  assert.equal(inbox.uids().length, 10_000);
  t = performance.now();
  await inbox.sync();
  const resync = performance.now() - t;
  await closeMailstore(store);
  t = performance.now();
  store = await openMailstore(root);
  inbox = await store.mailbox("INBOX");
  const reopen = performance.now() - t;
  t = performance.now();
  const all = await inbox.messages();
  const meta = performance.now() - t;
  t = performance.now();
  await inbox.messages();
  const metaAgain = performance.now() - t;
  assert.equal(all.length, 10_000);
  assert.equal(all.filter((m) => m.flags.includes("\\Seen")).length, 3334);
  console.log(
    `10,000 messages: first open ${first.toFixed(0)} ms, sync of the open mailbox ${
      resync.toFixed(0)
    } ms, ` +
      `re-open ${reopen.toFixed(0)} ms, metadata of all ${meta.toFixed(0)} ms ` +
      `(names without ,W=: sizes counted once), then ${metaAgain.toFixed(0)} ms`,
  );
  assert.ok(first < 30_000 && reopen < 10_000);
  await closeMailstore(store);
  await Deno.remove(join(root, ".."), { recursive: true });
});
