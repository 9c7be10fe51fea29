// regexp:/pcre: lookups are bounded in time (regex_sandbox.ts, regex_cost.ts).
import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { regexCost } from "../../src/maps/regex_cost.ts";
import { regexSandbox } from "../../src/maps/regex_sandbox.ts";

const isTemporaryTableFailure = (err: unknown) =>
  err instanceof MailError && err.code === 451 && err.enhanced === "4.3.0" &&
  /exceeded 200 ms/.test(err.message);

Deno.test("a catastrophic pattern fails with 451 4.3.0 after the deadline, and the table keeps working", async () => {
  for (
    const spec of [
      "regexp:{ {/^(a+)+$/ bad}, {/^!/ fine} }",
      "pcre:{ {/^(\\w+\\s?)*$/ bad}, {/^!/ fine} }",
    ]
  ) {
    const table = openMap(spec, { regexTimeoutMs: 200 });
    const startedBefore = regexSandbox.started;
    const t0 = performance.now();
    await assert.rejects(() => table.lookup("a".repeat(60) + "!"), isTemporaryTableFailure);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 2000, `${spec}: the lookup took ${elapsed} ms`);
    // The killed child is replaced on the next lookup; other keys still get answers.
    assert.equal(await table.lookup("aaa"), "bad");
    assert.equal(await table.lookup("!"), "fine");
    assert.ok(regexSandbox.started > startedBefore);
    table.close?.();
  }
});

Deno.test("a pattern that is cheap on short keys is bounded on a huge one", async () => {
  const table = openMap("regexp:{ {/a.*b.*c.*d/ found} }", { regexTimeoutMs: 200 });
  assert.equal(await table.lookup("a-b-c-d"), "found");
  const t0 = performance.now();
  try {
    await table.lookup("a".repeat(200_000));
  } catch (err) {
    assert.ok(isTemporaryTableFailure(err), String(err));
  }
  assert.ok(performance.now() - t0 < 2000);
  table.close?.();
});

Deno.test("regexCost: nested quantifiers and back references have no bound", () => {
  assert.equal(regexCost("^(a+)+$"), undefined);
  assert.equal(regexCost("^(a|aa)*$"), undefined);
  assert.equal(regexCost("^(?:(a)\\1)$"), undefined);
  assert.equal(regexCost("(?:[a-z]*)*"), undefined);
  assert.deepEqual(regexCost("^(.*)@example\\.com$"), { degree: 1, factor: 1 });
  assert.deepEqual(regexCost("^[^@]+@(a|b)\\.fr"), { degree: 1, factor: 2 });
  assert.deepEqual(regexCost("x{2,4}y?z{3}"), { degree: 0, factor: 6 });
  assert.deepEqual(regexCost("[*+(]\\u{2a}\\(\\)"), { degree: 0, factor: 1 });
});

Deno.test("the fast path stays in this process: overhead per lookup (printed)", async () => {
  const table = openMap(
    "regexp:{ {/^(.*)@example\\.com$/ $1@example.org}, {/^[^@]+@bidon\\.fr/ x} }",
  );
  const sandboxed = openMap("regexp:{ {/^(a+)+$/ a} }");
  const keys = Array.from({ length: 2000 }, (_, i) => `user${i}@example.com`);
  const time = async (t: typeof table) => {
    const t0 = performance.now();
    for (const key of keys) await t.lookup(key);
    return ((performance.now() - t0) * 1000) / keys.length;
  };
  await time(table);
  await sandboxed.lookup("warm-up");
  const inline = await time(table);
  const child = await time(sandboxed);
  console.log(
    `regexp lookup: ${inline.toFixed(1)} µs in process, ${child.toFixed(1)} µs in the sandbox`,
  );
  assert.equal(await table.lookup("joe@example.com"), "joe@example.org");
  assert.ok(inline < 50, `in-process lookups average ${inline} µs`);
  sandboxed.close?.();
});

Deno.test("lookups queued behind a runaway one are answered by the new sandbox", async () => {
  const table = openMap("pcre:{ {/^(a|aa)+$/ many-a}, {/^ok(\\d)$/ ok$1} }", {
    regexTimeoutMs: 200,
  });
  const results = await Promise.allSettled([
    table.lookup("a".repeat(50) + "!"),
    table.lookup("ok1"),
    table.lookup("aaaa"),
  ]);
  assert.equal(results[0].status, "rejected");
  assert.deepEqual(results.slice(1), [
    { status: "fulfilled", value: "ok1" },
    { status: "fulfilled", value: "many-a" },
  ]);
  table.close?.();
});
