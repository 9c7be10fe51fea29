/**
 * smtp(8)'s connection cache (postconf(5) smtp_connection_cache_on_demand):
 * deliveries to one destination share a connection, parked connections the
 * server closed are replaced, idle ones are closed after
 * smtp_connection_cache_time_limit, and close() says QUIT to the rest.
 */
import assert from "node:assert/strict";
import type { Lookup, Resolver } from "../../../src/dns/resolver.ts";
import { SmtpTransport } from "../../../src/transports/smtp/transport.ts";
import { mayReuse } from "../../../src/transports/smtp/connection_cache.ts";
import type { DeliveryRequest } from "../../../src/transports/types.ts";
import { testConfig } from "../../rewrite/helpers.ts";
import { request } from "../helpers.ts";
import { type Fake, startFake } from "./fake_server.ts";

const none = <T>(): Promise<Lookup<T>> =>
  Promise.resolve({ status: "notfound", reason: "Host not found" });
const NO_DNS: Resolver = { mx: none, a: none, aaaa: none, txt: none, ptr: none };

function transport(params: Record<string, string> = {}) {
  const config = testConfig({
    inet_protocols: "ipv4",
    smtp_connect_timeout: "2s",
    smtp_helo_name: "client.test",
    ...params,
  });
  return new SmtpTransport(config, { resolver: NO_DNS });
}

function req(fake: Fake, recipient: string): DeliveryRequest {
  return { ...request([recipient]), nexthop: `[127.0.0.1]:${fake.port}` };
}

const statuses = (results: { status: string }[]) => results.map((r) => r.status);
const verbs = (fake: Fake) => fake.commands.map((c) => c.split(/[ :]/)[0].toUpperCase());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `ok()` or fails after `ms`. */
async function until(ok: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(10);
  }
}

Deno.test("connection cache: three messages back to back go over one connection, RSET between", async () => {
  const fake = await startFake();
  const smtp = transport();
  try {
    for (const rcpt of ["a@x.test", "b@x.test", "c@x.test"]) {
      assert.deepEqual(statuses(await smtp.deliver(req(fake, rcpt))), ["sent"]);
    }
    assert.equal(fake.accepted, 1);
    assert.equal(fake.bodies.length, 3);
    assert.deepEqual(verbs(fake).filter((v) => v === "RSET" || v === "EHLO"), [
      "EHLO",
      "RSET",
      "RSET",
    ]);
    assert.equal(smtp.cachedConnections, 1);
  } finally {
    await smtp.close();
    await fake.close();
  }
});

Deno.test("connection cache: a parked connection the server closed is replaced, the delivery succeeds", async () => {
  const fake = await startFake();
  const smtp = transport();
  try {
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "a@x.test"))), ["sent"]);
    fake.dropConnections();
    await until(() => fake.open === 0);
    await sleep(20); // the client sees the EOF
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "b@x.test"))), ["sent"]);
    assert.equal(fake.accepted, 2);
    assert.equal(fake.bodies.length, 2);
  } finally {
    await smtp.close();
    await fake.close();
  }
});

Deno.test("connection cache: a reused connection lost at RSET is retried once on a new one, not deferred", async () => {
  const fake = await startFake({ rsetReply: "421 4.4.2 fake.test Error: timeout exceeded" });
  const smtp = transport();
  try {
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "a@x.test"))), ["sent"]);
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "b@x.test"))), ["sent"]);
    assert.equal(fake.accepted, 2);
    assert.equal(fake.bodies.length, 2);
    assert.equal(verbs(fake).filter((v) => v === "RSET").length, 1);
  } finally {
    await smtp.close();
    await fake.close();
  }
});

Deno.test("connection cache: smtp_connection_cache_time_limit closes an idle connection with QUIT", async () => {
  const fake = await startFake();
  const smtp = transport({ smtp_connection_cache_time_limit: "1s" });
  try {
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "a@x.test"))), ["sent"]);
    assert.equal(smtp.cachedConnections, 1);
    await until(() => verbs(fake).includes("QUIT"), 3000);
    assert.equal(smtp.cachedConnections, 0);
    // The next delivery needs a new connection.
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "b@x.test"))), ["sent"]);
    assert.equal(fake.accepted, 2);
  } finally {
    await smtp.close();
    await fake.close();
  }
});

Deno.test("connection cache: close() says QUIT to parked connections and leaves none open", async () => {
  const fake = await startFake();
  const smtp = transport();
  try {
    assert.deepEqual(statuses(await smtp.deliver(req(fake, "a@x.test"))), ["sent"]);
    assert.equal(fake.open, 1);
    await smtp.close();
    assert.equal(verbs(fake).at(-1), "QUIT");
    assert.equal(smtp.cachedConnections, 0);
    await until(() => fake.open === 0);
  } finally {
    await fake.close();
  }
});

Deno.test("connection cache: smtp_connection_reuse_count_limit and _time_limit end reuse", async () => {
  const fake = await startFake();
  const smtp = transport({ smtp_connection_reuse_count_limit: "2" });
  try {
    for (const rcpt of ["a@x.test", "b@x.test", "c@x.test"]) {
      assert.deepEqual(statuses(await smtp.deliver(req(fake, rcpt))), ["sent"]);
    }
    // Two deliveries on the first connection, then a new one.
    assert.equal(fake.accepted, 2);
  } finally {
    await smtp.close();
    await fake.close();
  }
  const limits = { idleMs: 2000, reuseMs: 300_000, reuseCount: 0 };
  assert.equal(mayReuse({ openedAt: 0, uses: 1000 }, 299_999, limits), true);
  assert.equal(mayReuse({ openedAt: 0, uses: 1 }, 300_000, limits), false);
});

Deno.test("connection cache: smtp_connection_cache_on_demand = no says QUIT after each delivery", async () => {
  const fake = await startFake();
  const smtp = transport({ smtp_connection_cache_on_demand: "no" });
  try {
    for (const rcpt of ["a@x.test", "b@x.test"]) {
      assert.deepEqual(statuses(await smtp.deliver(req(fake, rcpt))), ["sent"]);
    }
    assert.equal(fake.accepted, 2);
    assert.equal(verbs(fake).filter((v) => v === "QUIT").length, 2);
  } finally {
    await smtp.close();
    await fake.close();
  }
});
