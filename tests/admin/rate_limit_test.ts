import assert from "node:assert/strict";
import { FailureLimiter } from "../../src/admin/rate_limit.ts";
import { assertError, AUTH, okJson, withHarness } from "./helpers.ts";

const POLICY = { limit: 3, windowMs: 60_000 };

Deno.test("limiter: refused after `limit` failures until the window from the first one ends", () => {
  const l = new FailureLimiter();
  for (let i = 0; i < 3; i++) {
    assert.equal(l.blockedFor("a", 1000 + i, POLICY), 0);
    l.fail("a", 1000 + i, POLICY);
  }
  assert.equal(l.blockedFor("a", 1003, POLICY), 60_000 - 3);
  assert.equal(l.blockedFor("b", 1003, POLICY), 0, "other addresses are not affected");
  assert.equal(l.blockedFor("a", 60_999, POLICY), 1);
  assert.equal(l.blockedFor("a", 61_000, POLICY), 0);
  assert.equal(l.size, 0, "the ended window is forgotten");
});

Deno.test("limiter: limit 0 never refuses", () => {
  const l = new FailureLimiter();
  const off = { limit: 0, windowMs: 60_000 };
  for (let i = 0; i < 100; i++) l.fail("a", 0, off);
  assert.equal(l.blockedFor("a", 0, off), 0);
});

Deno.test("limiter: memory stays bounded by maxAddresses, ended windows go first", () => {
  const l = new FailureLimiter(100);
  for (let i = 0; i < 100; i++) l.fail(`old${i}`, 0, POLICY);
  assert.equal(l.size, 100);
  // The old windows have ended by now: they make room.
  for (let i = 0; i < 10; i++) l.fail(`new${i}`, 120_000, POLICY);
  assert.equal(l.size, 10);
  // A flood of live windows: the oldest live ones are dropped, never more than 100 kept.
  for (let i = 0; i < 10_000; i++) l.fail(`flood${i}`, 130_000, POLICY);
  assert.equal(l.size, 100);
  l.fail("flood9999", 130_000, POLICY);
  l.fail("flood9999", 130_000, POLICY);
  assert.ok(l.blockedFor("flood9999", 130_000, POLICY) > 0, "the newest are kept");
});

Deno.test("429 after admin_auth_failure_limit failures, even with a valid token; back after the window", async () => {
  await withHarness(async (h) => {
    for (let i = 0; i < 3; i++) {
      await assertError(await h.anonymous("/v1/stats", {}, "192.0.2.7"), 401, "unauthorized");
      h.clock.now += 1000;
    }
    assert.deepEqual(h.log, [
      "admin: 3 failed authentications from 192.0.2.7: refused for a while",
    ]);
    const refused = await h.call("/v1/stats", {}, "192.0.2.7");
    assert.equal(refused.headers.get("retry-after"), "57");
    await assertError(
      refused,
      429,
      "too_many_failures",
      "too many failed authentications from 192.0.2.7",
    );
    await assertError(await h.anonymous("/nope", {}, "192.0.2.7"), 429, "too_many_failures");
    // Another address is not affected, and health checks never are.
    await okJson(await h.call("/v1/stats", {}, "192.0.2.8"));
    await okJson(await h.anonymous("/healthz", {}, "192.0.2.7"));
    h.clock.now += 56_999; // 59.999 s after the first failure
    assert.equal((await h.call("/v1/stats", {}, "192.0.2.7")).headers.get("retry-after"), "1");
    h.clock.now += 1;
    await okJson(await h.call("/v1/stats", {}, "192.0.2.7"));
  }, { admin_auth_failure_limit: "3", admin_auth_failure_window: "60s" });
});

Deno.test("the failure policy follows the running configuration", async () => {
  await withHarness(async (h) => {
    await assertError(await h.anonymous("/v1/stats"), 401, "unauthorized");
    await assertError(await h.anonymous("/v1/stats", { headers: AUTH }), 429, "too_many_failures");
    h.setConfig({ admin_auth_failure_limit: "5", admin_auth_failure_window: "10s" });
    await okJson(await h.anonymous("/v1/stats", { headers: AUTH }));
  }, { admin_auth_failure_limit: "1" });
});
