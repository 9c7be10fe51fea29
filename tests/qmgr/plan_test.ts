import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { planRequests, queueName, transportLimits } from "../../src/qmgr/mod.ts";
import { Slots } from "../../src/qmgr/slots.ts";
import { testConfig } from "../rewrite/helpers.ts";

const routed = (list: [string, string, string][]) =>
  list.map(([address, transport, nexthop], index) => ({
    recipient: { index, address },
    transport,
    nexthop,
  }));

Deno.test("queueName: the nexthop, or localpart@nexthop when one recipient per request", () => {
  assert.equal(queueName("smtp", "MX.Example.COM", "Bob@example.com", 50), "mx.example.com");
  assert.equal(
    queueName("local", "Mail.Example.com", "Alice+x@Example.com", 1),
    "alice+x@mail.example.com",
  );
  assert.equal(
    queueName("local", "mail.example.com", "postmaster", 1),
    "postmaster@mail.example.com",
  );
  // error(8): the nexthop is the bounce text, not a destination.
  assert.equal(queueName("error", "5.1.1 Unknown", "a@b.test", 1), "5.1.1 unknown");
});

Deno.test("planRequests: per transport and destination, cut at the recipient limit", () => {
  const limits: Record<string, number> = { local: 1, virtual: 2, smtp: 0 };
  const requests = planRequests(
    routed([
      ["a@localhost", "local", "localhost"],
      ["v1@mailbox.test", "virtual", "mailbox.test"],
      ["A@localhost", "local", "localhost"],
      ["v2@mailbox.test", "virtual", "mailbox.test"],
      ["v3@mailbox.test", "virtual", "MAILBOX.test"],
      ["x@far.test", "smtp", "far.test"],
      ["y@far.test", "smtp", "far.test"],
      ["z@other.test", "smtp", "other.test"],
    ]),
    (t) => limits[t],
  );
  assert.deepEqual(
    requests.map((r) => [r.transport, r.destination, r.recipients.map((x) => x.index)]),
    [
      ["local", "a@localhost", [0]],
      ["virtual", "mailbox.test", [1, 3]],
      ["local", "a@localhost", [2]],
      ["virtual", "mailbox.test", [4]],
      ["smtp", "far.test", [5, 6]],
      ["smtp", "other.test", [7]],
    ],
  );
  assert.equal(requests[3].nexthop, "MAILBOX.test", "each request keeps its nexthop as resolved");
});

Deno.test("transportLimits: transport-specific parameters, else the default_ ones", () => {
  assert.deepEqual(transportLimits(testConfig(), "local"), {
    concurrency: 2,
    recipients: 1,
    processes: 100,
  });
  assert.deepEqual(transportLimits(testConfig(), "virtual"), {
    concurrency: 20,
    recipients: 50,
    processes: 100,
  });
  const tuned = testConfig({
    default_destination_concurrency_limit: "7",
    local_destination_concurrency_limit: "$default_destination_concurrency_limit",
    default_process_limit: "3",
  });
  assert.deepEqual(transportLimits(tuned, "local"), {
    concurrency: 7,
    recipients: 1,
    processes: 3,
  });
  assert.throws(
    () => transportLimits(testConfig({ local_destination_recipient_limit: "-1" }), "local"),
    ConfigError,
  );
});

Deno.test("Slots: at most the limit held per key, waiters served in order, 0 = no limit", async () => {
  const slots = new Slots();
  assert.equal(await slots.acquire("d", 2), true);
  assert.equal(await slots.acquire("d", 2), true);
  const order: string[] = [];
  const third = slots.acquire("d", 2).then((ok) => order.push(`third ${ok}`));
  const fourth = slots.acquire("d", 2).then((ok) => order.push(`fourth ${ok}`));
  assert.equal(await slots.acquire("other", 2), true, "keys are independent");
  await Promise.resolve();
  assert.deepEqual(order, []);
  slots.release("d");
  await third;
  assert.deepEqual(order, ["third true"]);
  assert.equal(slots.held("d"), 2);
  slots.release("d");
  await fourth;
  slots.release("d");
  slots.release("d");
  assert.equal(slots.held("d"), 0);
  for (let i = 0; i < 50; i++) assert.equal(await slots.acquire("free", 0), true);
});

Deno.test("Slots: close() refuses the waiting and later callers; open() allows again", async () => {
  const slots = new Slots();
  await slots.acquire("d", 1);
  const waiting = slots.acquire("d", 1);
  slots.close();
  assert.equal(await waiting, false);
  assert.equal(await slots.acquire("e", 1), false);
  slots.release("d");
  slots.open();
  assert.equal(await slots.acquire("d", 1), true);
});
