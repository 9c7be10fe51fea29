import assert from "node:assert/strict";
import { type GatePolicy, Gates } from "../../src/qmgr/gates.ts";

const ONE = { value: 1, perConcurrency: false };
const policy = (over: Partial<GatePolicy> = {}): GatePolicy => ({
  initial: 5,
  limit: 20,
  positive: ONE,
  negative: ONE,
  failedCohortLimit: 1,
  deadMs: 60_000,
  rateDelayMs: 0,
  ...over,
});
const FAIL = {
  ok: false as const,
  dsn: "4.4.1",
  reason: "connect to mx[127.0.0.2]:25: Connection refused",
};

/** Asks `n` times; returns the promises and how many were granted at once. */
async function ask(gates: Gates, key: string, p: GatePolicy, n: number) {
  const grants = Array.from({ length: n }, () => gates.acquire(key, p));
  const now: string[] = [];
  for (const g of grants) g.then((x) => now.push(x.kind));
  await Promise.resolve();
  await Promise.resolve();
  return { grants, granted: now.length };
}

Deno.test("gates: a destination starts at its initial concurrency, not its limit", async () => {
  const gates = new Gates();
  const { granted } = await ask(gates, "d", policy(), 12);
  assert.equal(granted, 5);
  assert.deepEqual(gates.state("d"), { window: 5, busy: 5, waiting: 7, dead: false });
  gates.close();
});

Deno.test("gates: each success widens the window while work waits, up to the limit", async () => {
  const gates = new Gates();
  const p = policy({ limit: 8 });
  await ask(gates, "d", p, 30);
  gates.release("d", { ok: true });
  // Feedback 1: one success, one more slot; the finished delivery's slot passes on too.
  assert.deepEqual(gates.state("d"), { window: 6, busy: 6, waiting: 23, dead: false });
  for (let i = 0; i < 10; i++) gates.release("d", { ok: true });
  assert.equal(gates.state("d")!.window, 8, "never past destination_concurrency_limit");
  assert.equal(gates.state("d")!.busy, 8);
  gates.close();
});

Deno.test("gates: no growth without demand; 1/concurrency feedback grows once per window", async () => {
  const gates = new Gates();
  const p = policy({ positive: { value: 1, perConcurrency: true } });
  await ask(gates, "d", p, 2);
  gates.release("d", { ok: true });
  assert.equal(gates.state("d")!.window, 5, "two deliveries never need more than 5");
  gates.release("d", { ok: true });
  assert.equal(gates.state("d"), undefined, "an idle gate is forgotten");

  await ask(gates, "e", p, 40);
  for (let i = 0; i < 4; i++) gates.release("e", { ok: true });
  assert.equal(gates.state("e")!.window, 5);
  gates.release("e", { ok: true });
  assert.equal(gates.state("e")!.window, 6, "five successes of 1/5 make one step");
  gates.close();
});

Deno.test("gates: failures narrow the window; a failed cohort kills the destination", async () => {
  const gates = new Gates();
  const { grants } = await ask(gates, "d", policy(), 9);
  gates.release("d", FAIL);
  assert.equal(gates.state("d")!.window, 4);
  assert.equal(gates.state("d")!.dead, false);
  gates.release("d", FAIL);
  gates.release("d", FAIL);
  assert.equal(gates.state("d")!.window, 2);
  gates.release("d", FAIL); // 1/5 + 1/4 + 1/3 + 1/2 >= 1 cohort
  assert.equal(gates.state("d")!.dead, true);
  const answers = await Promise.all(grants.slice(5));
  assert.deepEqual(answers[0], { kind: "dead", dsn: "4.4.1", reason: FAIL.reason });
  assert.equal(answers.filter((a) => a.kind === "dead").length, 4, "every waiter answered at once");
  assert.deepEqual(await gates.acquire("d", policy()), {
    kind: "dead",
    dsn: FAIL.dsn,
    reason: FAIL.reason,
  });
  gates.close();
});

Deno.test("gates: a success resets the cohort count; the window never drops below 1", async () => {
  const gates = new Gates();
  const p = policy({ initial: 2, failedCohortLimit: 2 });
  await ask(gates, "d", p, 50);
  for (let i = 0; i < 3; i++) {
    gates.release("d", FAIL);
    gates.release("d", { ok: true });
  }
  assert.equal(gates.state("d")!.dead, false);
  assert.ok(gates.state("d")!.window >= 1);
  gates.close();
});

Deno.test("gates: a dead destination lives again after deadMs, or at once on revive()", async () => {
  let now = 1000;
  const gates = new Gates({ clock: () => now });
  const p = policy({ initial: 1, deadMs: 5000 });
  assert.equal((await gates.acquire("d", p)).kind, "go");
  gates.release("d", FAIL);
  assert.equal((await gates.acquire("d", p)).kind, "dead");
  now += 4999;
  assert.equal((await gates.acquire("d", p)).kind, "dead");
  now += 1;
  assert.equal((await gates.acquire("d", p)).kind, "go", "dead for deadMs only");
  gates.release("d", FAIL);
  assert.equal((await gates.acquire("d", p)).kind, "dead");
  gates.revive();
  assert.equal((await gates.acquire("d", p)).kind, "go", "postqueue -f revives");
  assert.equal(gates.state("d")!.window, 1);
  gates.close();
});

Deno.test("gates: failedCohortLimit 0 never kills; negative feedback 0 keeps the window", async () => {
  const gates = new Gates();
  const p = policy({ failedCohortLimit: 0, negative: { value: 0, perConcurrency: false } });
  await ask(gates, "d", p, 20);
  for (let i = 0; i < 15; i++) gates.release("d", FAIL);
  assert.deepEqual(gates.state("d"), { window: 5, busy: 5, waiting: 0, dead: false });
  gates.close();
});

Deno.test("gates: a fixed gate without feedback is a plain limit; 0 is no limit", async () => {
  const gates = new Gates();
  const fixed: GatePolicy = {
    initial: 3,
    limit: 3,
    failedCohortLimit: 0,
    deadMs: 0,
    rateDelayMs: 0,
  };
  const { granted } = await ask(gates, "t", fixed, 10);
  assert.equal(granted, 3);
  for (let i = 0; i < 5; i++) gates.release("t", { ok: true });
  assert.equal(gates.state("t")!.busy, 3, "success does not widen a fixed gate");
  const none: GatePolicy = { ...fixed, initial: 0, limit: 0 };
  assert.equal((await ask(gates, "u", none, 500)).granted, 500);
  gates.close();
});

Deno.test("gates: waiters are served in arrival order; close() answers them", async () => {
  const gates = new Gates();
  const p = policy({ initial: 1, limit: 1 });
  const order: number[] = [];
  const all = [0, 1, 2, 3].map((i) =>
    gates.acquire("d", p).then((g) => {
      order.push(i);
      return g;
    })
  );
  await Promise.resolve();
  gates.release("d", { ok: true });
  await Promise.resolve();
  gates.release("d", { ok: true });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(order, [0, 1, 2]);
  gates.close();
  assert.equal((await all[3]).kind, "closed");
  assert.equal((await gates.acquire("d", p)).kind, "closed");
  gates.open();
  assert.equal((await gates.acquire("x", p)).kind, "go");
  gates.close();
});

Deno.test("gates: a rate delay runs one delivery at a time, spaced by the delay", async () => {
  const gates = new Gates();
  const p = policy({ rateDelayMs: 40 });
  const starts: number[] = [];
  const run = async () => {
    const grant = await gates.acquire("d", p);
    assert.equal(grant.kind, "go");
    starts.push(Date.now());
    gates.release("d", { ok: true });
  };
  await Promise.all([run(), run(), run()]);
  assert.equal(starts.length, 3);
  for (let i = 1; i < 3; i++) {
    assert.ok(starts[i] - starts[i - 1] >= 35, `deliveries ${starts[i] - starts[i - 1]} ms apart`);
  }
  // The delay outlives the burst: a new request still waits, then the gate is forgotten.
  const before = Date.now();
  await run();
  assert.ok(Date.now() - before >= 30);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(gates.size, 0);
  gates.close();
});
