import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { planRequests, queueName, transportPolicy } from "../../src/qmgr/mod.ts";
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

const limits = (p: ReturnType<typeof transportPolicy>) => ({
  concurrency: p.concurrency,
  recipients: p.recipients,
  processes: p.processes,
});

Deno.test("transportPolicy: transport-specific parameters, else the default_ ones", () => {
  assert.deepEqual(transportPolicy(testConfig(), "local"), {
    concurrency: 2,
    recipients: 1,
    processes: 100,
    // postconf -d: initial_destination_concurrency = 5, feedback 1, cohort limit 1, no delays.
    initial: 5,
    positive: { value: 1, perConcurrency: false },
    negative: { value: 1, perConcurrency: false },
    failedCohortLimit: 1,
    destinationRateDelayMs: 0,
    transportRateDelayMs: 0,
  });
  assert.deepEqual(limits(transportPolicy(testConfig(), "virtual")), {
    concurrency: 20,
    recipients: 50,
    processes: 100,
  });
  const tuned = testConfig({
    default_destination_concurrency_limit: "7",
    local_destination_concurrency_limit: "$default_destination_concurrency_limit",
    default_process_limit: "3",
  });
  assert.deepEqual(limits(transportPolicy(tuned, "local")), {
    concurrency: 7,
    recipients: 1,
    processes: 3,
  });
  assert.throws(
    () => transportPolicy(testConfig({ local_destination_recipient_limit: "-1" }), "local"),
    ConfigError,
  );
  const slow = transportPolicy(
    testConfig({
      initial_destination_concurrency: "2",
      default_destination_concurrency_positive_feedback: "1/concurrency",
      default_destination_rate_delay: "3",
      default_transport_rate_delay: "1m",
    }),
    "smtp",
  );
  assert.equal(slow.initial, 2);
  assert.deepEqual(slow.positive, { value: 1, perConcurrency: true });
  assert.equal(slow.destinationRateDelayMs, 3000, "a bare number is seconds");
  assert.equal(slow.transportRateDelayMs, 60_000);
});
