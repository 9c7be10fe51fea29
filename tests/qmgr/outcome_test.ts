import assert from "node:assert/strict";
import {
  backoffMs,
  errorTransportResult,
  expire,
  formatDelay,
  logLine,
  softBounce,
} from "../../src/qmgr/mod.ts";
import type { RecipientResult } from "../../src/queue/types.ts";

const deferredResult: RecipientResult = {
  index: 0,
  status: "deferred",
  dsn: "4.4.1",
  reason: "connection refused",
  relay: "smtp",
};

Deno.test("backoff doubles from minimal_backoff_time up to maximal_backoff_time", () => {
  assert.equal(backoffMs(0, 300, 4000), 300_000);
  assert.equal(backoffMs(1, 300, 4000), 600_000);
  assert.equal(backoffMs(3, 300, 4000), 2_400_000);
  assert.equal(backoffMs(4, 300, 4000), 4_000_000);
  assert.equal(backoffMs(100, 300, 4000), 4_000_000);
  assert.equal(backoffMs(0, 0, 0), 1000, "never below one second");
});

Deno.test("expire: deferred recipients of a message past its lifetime bounce with 5.4.7", () => {
  assert.equal(expire(deferredResult, 3_600_000, 86400), deferredResult);
  assert.deepEqual(expire(deferredResult, 2 * 86_400_000, 86400), {
    index: 0,
    status: "bounced",
    dsn: "5.4.7",
    reason: "delivery time expired after 2d; last error: connection refused",
    relay: "smtp",
  });
  assert.equal(expire(deferredResult, 5, 0).status, "bounced", "lifetime 0: one attempt only");
  const sentResult: RecipientResult = { ...deferredResult, status: "sent", dsn: "2.0.0" };
  assert.equal(expire(sentResult, 1e12, 0), sentResult);
});

Deno.test("soft_bounce turns a bounce into a deferral with a 4.x.x code", () => {
  assert.deepEqual(softBounce({ ...deferredResult, status: "bounced", dsn: "5.1.1" }), {
    ...deferredResult,
    status: "deferred",
    dsn: "4.1.1",
  });
  assert.equal(softBounce(deferredResult), deferredResult);
});

Deno.test("error transport: the nexthop carries DSN code and reason", () => {
  assert.deepEqual(errorTransportResult(3, "5.1.1 User unknown in virtual alias table"), {
    index: 3,
    status: "bounced",
    dsn: "5.1.1",
    reason: "User unknown in virtual alias table",
    relay: "none",
  });
  assert.equal(errorTransportResult(0, "4.3.2 try later").status, "deferred");
  assert.deepEqual(errorTransportResult(0, "no route"), {
    index: 0,
    status: "bounced",
    dsn: "5.0.0",
    reason: "no route",
    relay: "none",
  });
});

Deno.test("delays are printed like Postfix's format_tv", () => {
  assert.equal(formatDelay(123), "0.12");
  assert.equal(formatDelay(1234), "1.2");
  assert.equal(formatDelay(15_400), "15");
  assert.equal(formatDelay(2), "0");
  assert.equal(formatDelay(0), "0");
  assert.equal(formatDelay(100), "0.1");
  assert.equal(formatDelay(3000), "3");
});

Deno.test("the log line has Postfix's shape", () => {
  const timing = { arrival: 1000, claimed: 1050, handoff: 1060, done: 1120 };
  assert.equal(
    logLine(
      "4BQZ1X2Y3Z0001",
      { address: "alice@example.com", original: "info@example.com" },
      { index: 0, status: "sent", dsn: "2.0.0", reason: "delivered to maildir", relay: "local" },
      timing,
    ),
    "4BQZ1X2Y3Z0001: to=<alice@example.com>, orig_to=<info@example.com>, relay=local, " +
      "delay=0.12, delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)",
  );
  assert.equal(
    logLine("ID", { address: "a@x.test", original: "A@x.test" }, deferredResult, {
      arrival: 0,
      claimed: 0,
      done: 2500,
    }),
    "ID: to=<a@x.test>, relay=smtp, delay=2.5, delays=0/2.5/0/0, dsn=4.4.1, " +
      "status=deferred (connection refused)",
  );
});
