/**
 * relocated_maps (relocated(5)) in trivial-rewrite's resolve and in the RCPT
 * check, and the other check_rcpt_maps rules of smtpd_check.c that come with
 * it: anything resolving to the error transport is rejected at RCPT.
 * The exact texts were taken from Postfix 3.7 (see tests/route/postfix_rcpt_test.ts).
 */
import assert from "node:assert/strict";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { ErrorTransport } from "../../src/transports/error/mod.ts";
import { testConfig, testTables } from "./helpers.ts";

const RELOCATED = "inline:{ old@mail.example.com=new@example.org, alice=alice@new.test, " +
  "@moved.test=contact@example.org, {gone@mailbox.test=somewhere@else.test} }";

function rewriter(values: Record<string, string> = {}) {
  return new Rewriter(
    testConfig({
      relocated_maps: RELOCATED,
      virtual_mailbox_domains: "mailbox.test",
      virtual_mailbox_maps: "inline:{ gone@mailbox.test=x/, bob@mailbox.test=bob/ }",
      relay_domains: "moved.test, relay.test",
      ...values,
    }),
    { openTable: testTables().open },
  );
}

const reply = async (r: Rewriter, address: string) => (await r.checkRecipient(address))?.reply;

Deno.test("relocated: RCPT gets 550 5.1.6 User has moved to NEW", async () => {
  const r = rewriter();
  assert.equal(
    await reply(r, "old@mail.example.com"),
    "550 5.1.6 <old@mail.example.com>: Recipient address rejected: User has moved to new@example.org",
  );
  // A relocated entry wins over an existing virtual mailbox.
  assert.equal(
    await reply(r, "gone@mailbox.test"),
    "550 5.1.6 <gone@mailbox.test>: Recipient address rejected: User has moved to somewhere@else.test",
  );
  assert.equal(await reply(r, "bob@mailbox.test"), undefined);
  // @domain entries, in any class.
  assert.equal(
    await reply(r, "anyone@moved.test"),
    "550 5.1.6 <anyone@moved.test>: Recipient address rejected: User has moved to contact@example.org",
  );
});

Deno.test("relocated: a bare user key matches in local domains only (relocated(5))", async () => {
  const r = rewriter();
  assert.match((await reply(r, "alice@mail.example.com"))!, /User has moved to alice@new\.test$/);
  assert.equal(await reply(r, "alice@relay.test"), undefined);
});

Deno.test("relocated: an extension is stripped to match but not carried over", async () => {
  const r = rewriter({ recipient_delimiter: "+" });
  assert.equal(
    (await r.resolve("old+news@mail.example.com")).nexthop,
    "5.1.6 User has moved to new@example.org",
  );
  // Without recipient_delimiter there is no extension to strip (Postfix's default).
  assert.equal((await rewriter().resolve("old+news@mail.example.com")).transport, "local");
});

Deno.test("relocated: a virtual alias entry makes the address valid at RCPT", async () => {
  const r = rewriter({ virtual_alias_maps: "inline:{ old@mail.example.com=someone@example.org }" });
  assert.equal(await reply(r, "old@mail.example.com"), undefined);
});

Deno.test("relocated at delivery: resolve routes to error, which bounces 5.1.6", async () => {
  const r = rewriter();
  const route = await r.resolve("Old@Mail.Example.COM");
  assert.deepEqual(route, {
    class: "local",
    transport: "error",
    nexthop: "5.1.6 User has moved to new@example.org",
    recipient: "Old@mail.example.com",
  });
  const [result] = await new ErrorTransport().deliver(
    {
      nexthop: route.nexthop,
      recipients: [{ index: 0, address: route.recipient }],
    } as unknown as Parameters<ErrorTransport["deliver"]>[0],
  );
  assert.equal(result.status, "bounced");
  assert.equal(result.dsn, "5.1.6");
  assert.equal(result.reason, "User has moved to new@example.org");
});

Deno.test("relocated wins over transport_maps, in every class", async () => {
  const r = rewriter({ transport_maps: "inline:{ moved.test=smtp:[127.0.0.1]:2525 }" });
  assert.equal((await r.resolve("x@moved.test")).transport, "error");
  const alias = rewriter({
    virtual_alias_domains: "alias.test",
    relocated_maps: "inline:{ x@alias.test=y@z.test }",
  });
  assert.deepEqual(await alias.resolve("x@alias.test"), {
    class: "virtual_alias",
    transport: "error",
    nexthop: "5.1.6 User has moved to y@z.test",
    recipient: "x@alias.test",
  });
});

Deno.test("RCPT: a transport_maps error: entry rejects, DSN from its text or 5.1.1", async () => {
  const r = rewriter({
    transport_maps:
      "inline:{ {dead@relay.test=error:5.1.2 mailbox is dead}, {dead2@relay.test=error:nothing here} }",
  });
  assert.equal(
    await reply(r, "dead@relay.test"),
    "550 5.1.2 <dead@relay.test>: Recipient address rejected: mailbox is dead",
  );
  assert.equal(
    await reply(r, "dead2@relay.test"),
    "550 5.1.1 <dead2@relay.test>: Recipient address rejected: nothing here",
  );
});

Deno.test("relocated: a failing table is a temporary error, not a verdict", async () => {
  const r = rewriter({ relocated_maps: "fail:database down" });
  assert.equal(
    await reply(r, "old@mail.example.com"),
    "451 4.3.0 <old@mail.example.com>: Temporary lookup failure",
  );
  await assert.rejects(() => r.resolve("old@mail.example.com"), /relocated_maps lookup failure/);
});
