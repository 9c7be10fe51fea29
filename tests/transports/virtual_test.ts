import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { VirtualTransport } from "../../src/transports/virtual/mod.ts";
import { FIXED_DATE, maildirMessages, MESSAGE, request, setup } from "./helpers.ts";

const MAP = "inline:{ ann@v.test=v.test/ann/, bob@v.test=v.test/bob, " +
  "@catch.test=catch/all/, evil@v.test=../../etc/x, abs@v.test=/tmp/x }";

async function virtual(values: Record<string, string> = {}) {
  const env = await setup({
    virtual_mailbox_domains: "v.test, catch.test",
    virtual_mailbox_maps: MAP,
    ...values,
  });
  const transport = new VirtualTransport(env.config, {
    openTable: env.tables.open,
    rewrite: env.rewriter,
    now: () => FIXED_DATE,
  });
  return { ...env, transport, vmail: join(env.root, "vmail") };
}

Deno.test("virtual: a result ending in / is a Maildir, with the delivery headers", async () => {
  const t = await virtual();
  const results = await t.transport.deliver(
    request([{ address: "Ann@V.test", original: "sales@example.org" }]),
  );
  assert.deepEqual(results, [
    { index: 0, relay: "virtual", status: "sent", dsn: "2.0.0", reason: "delivered to maildir" },
  ]);
  assert.deepEqual(await maildirMessages(join(t.vmail, "v.test", "ann")), [
    "Return-Path: <sender@example.org>\nX-Original-To: sales@example.org\n" +
    "Delivered-To: ann@v.test\nSubject: test\n\nHello\nFrom the body\n",
  ]);
  await t.cleanup();
});

Deno.test("virtual: a result without trailing / is an mbox file", async () => {
  const t = await virtual();
  const [result] = await t.transport.deliver(request(["bob@v.test"]));
  assert.equal(result.reason, "delivered to mailbox");
  assert.equal(
    await Deno.readTextFile(join(t.vmail, "v.test", "bob")),
    "From sender@example.org  Mon Nov 23 09:05:07 2026\n" +
      "Return-Path: <sender@example.org>\nX-Original-To: bob@v.test\nDelivered-To: bob@v.test\n" +
      "Subject: test\n\nHello\n>From the body\n\n",
  );
  await t.cleanup();
});

Deno.test("virtual: @domain catch-all and unknown users", async () => {
  const t = await virtual();
  const [caught, unknown] = await t.transport.deliver(request(["x@catch.test", "nobody@v.test"]));
  assert.equal(caught.status, "sent");
  assert.equal((await maildirMessages(join(t.vmail, "catch", "all"))).length, 1);
  assert.deepEqual(unknown, {
    index: 1,
    relay: "virtual",
    status: "bounced",
    dsn: "5.1.1",
    reason: 'unknown user: "nobody@v.test"',
  });
  await t.cleanup();
});

Deno.test("virtual: recipient_delimiter extensions find the user's mailbox", async () => {
  const t = await virtual({ recipient_delimiter: "+" });
  const [result] = await t.transport.deliver(request(["ann+news@v.test"]));
  assert.equal(result.status, "sent");
  const [msg] = await maildirMessages(join(t.vmail, "v.test", "ann"));
  assert.match(msg, /\nDelivered-To: ann\+news@v\.test\n/);
  await t.cleanup();
});

Deno.test("virtual: Delivered-To loop bounces with 5.4.6", async () => {
  const t = await virtual();
  const content = "Delivered-To: ann@v.test\r\n" + MESSAGE;
  const [result] = await t.transport.deliver(request(["ann@v.test"], { content }));
  assert.equal(result.dsn, "5.4.6");
  assert.equal(result.reason, "mail forwarding loop for ann@v.test");
  await t.cleanup();
});

Deno.test("virtual: virtual_mailbox_limit bounces an mbox that would grow too big", async () => {
  const t = await virtual({ virtual_mailbox_limit: "250", message_size_limit: "200" });
  assert.equal((await t.transport.deliver(request(["bob@v.test"])))[0].status, "sent");
  const [result] = await t.transport.deliver(request(["bob@v.test"]));
  assert.equal(result.status, "bounced");
  assert.equal(result.dsn, "5.2.2");
  assert.equal(
    result.reason,
    `mailbox ${join(t.vmail, "v.test", "bob")}: error writing message: File too large`,
  );
  await t.cleanup();
});

Deno.test("virtual: results escaping virtual_mailbox_base are refused (deferred, config error)", async () => {
  const t = await virtual();
  const results = await t.transport.deliver(request(["evil@v.test"]));
  assert.equal(results[0].status, "deferred");
  assert.equal(results[0].dsn, "4.3.5");
  await assert.rejects(Deno.stat(join(t.root, "..", "etc", "x")), Deno.errors.NotFound);
  // An absolute result is taken relative to the base, as Postfix concatenates base + "/" + result.
  const [abs] = await t.transport.deliver(request(["abs@v.test"]));
  assert.equal(abs.status, "sent");
  assert.match(await Deno.readTextFile(join(t.vmail, "tmp", "x")), /^From /);
  await t.cleanup();
});

Deno.test("virtual: without virtual_mailbox_base delivery is deferred", async () => {
  const t = await virtual({ virtual_mailbox_base: "" });
  const [result] = await t.transport.deliver(request(["ann@v.test"]));
  assert.equal(result.status, "deferred");
  assert.match(result.reason, /virtual_mailbox_base is not set/);
  await t.cleanup();
});

Deno.test("virtual: a failing table defers; a too small limit is a configuration error", async () => {
  const t = await virtual({ virtual_mailbox_maps: "fail:down" });
  const [result] = await t.transport.deliver(request(["ann@v.test"]));
  assert.equal(result.status, "deferred");
  assert.equal(result.dsn, "4.3.0");
  const small = await setup({ virtual_mailbox_limit: "10" });
  assert.throws(
    () => new VirtualTransport(small.config, { openTable: small.tables.open }),
    ConfigError,
  );
  await t.cleanup();
  await small.cleanup();
});
