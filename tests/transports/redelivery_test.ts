// Delivering the same request again (a retry, or after a crash before the
// queue recorded the results) must not give a second Maildir copy.
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalTransport } from "../../src/transports/local/mod.ts";
import { deliveryKey } from "../../src/transports/local/mailbox.ts";
import type { DeliveryRequest } from "../../src/transports/types.ts";
import { VirtualTransport } from "../../src/transports/virtual/mod.ts";
import { FIXED_DATE, listDir, maildirMessages, request, setup } from "./helpers.ts";

const AGAIN = "delivered to maildir (already delivered by an earlier attempt)";

async function local(values: Record<string, string> = {}) {
  const env = await setup(values);
  const transport = new LocalTransport(env.config, {
    openTable: env.tables.open,
    rewrite: env.rewriter,
    passwdFile: env.passwdFile,
    now: () => FIXED_DATE,
    runningAsRoot: false,
  });
  return { ...env, transport };
}

/** The same request as a later attempt: after a restart, or a retry. */
const redelivery = (req: DeliveryRequest): DeliveryRequest => ({ ...req, redelivery: true });

Deno.test("deliveryKey: the recipient index, and a tag of the member for expansions", () => {
  assert.equal(deliveryKey(0), "0");
  assert.match(deliveryKey(3, "alice"), /^3-[0-9a-f]{12}$/);
  assert.equal(deliveryKey(3, "alice"), deliveryKey(3, "alice"), "the same on every attempt");
  assert.notEqual(deliveryKey(3, "alice"), deliveryKey(3, "bob"));
  assert.notEqual(deliveryKey(3, "alice"), deliveryKey(4, "alice"));
});

Deno.test("local: the same request delivered again leaves one copy and says so", async () => {
  const t = await local();
  const req = request(["alice@localhost"]);
  const [first] = await t.transport.deliver(req);
  assert.equal(first.reason, "delivered to maildir");
  const [again] = await t.transport.deliver(req);
  assert.deepEqual(again, {
    index: 0,
    relay: "local",
    status: "sent",
    dsn: "2.0.0",
    reason: AGAIN,
  });
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  // A reader moved it to cur/ meanwhile: a redelivery still finds it.
  const [name] = await listDir(join(t.maildir("alice"), "new"));
  await Deno.rename(
    join(t.maildir("alice"), "new", name),
    join(t.maildir("alice"), "cur", `${name}:2,RS`),
  );
  const [third] = await t.transport.deliver(redelivery(req));
  assert.equal(third.reason, AGAIN);
  assert.deepEqual(await listDir(join(t.maildir("alice"), "new")), []);
  await t.cleanup();
});

Deno.test("local: alias members get one copy each, also when delivered again", async () => {
  const t = await local({ alias_maps: "inline:{ {team = alice, bob} }" });
  const req = request(["team@localhost"]);
  for (let i = 0; i < 2; i++) {
    const [result] = await t.transport.deliver(redelivery(req));
    assert.equal(result.status, "sent", result.reason);
    assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
    assert.equal((await maildirMessages(t.maildir("bob"))).length, 1);
  }
  await t.cleanup();
});

Deno.test("local: two members sharing one Maildir (same home) get two files", async () => {
  const t = await local({ alias_maps: "inline:{ {ops = u1, u2} }", local_recipient_maps: "" });
  const shared = join(t.root, "shared");
  await Deno.writeTextFile(
    t.passwdFile,
    `u1:x:2001:2001::${shared}:/bin/sh\nu2:x:2002:2002::${shared}:/bin/sh\n`,
  );
  const req = request(["ops@localhost"]);
  await t.transport.deliver(req);
  const [again] = await t.transport.deliver(redelivery(req));
  assert.equal(again.status, "sent", again.reason);
  const names = await listDir(join(shared, "Maildir", "new"));
  assert.equal(names.length, 2, names.join(" "));
  await t.cleanup();
});

Deno.test("local: one message to two recipients of one mailbox: one copy per request, as local(8)", async () => {
  const t = await local({ recipient_delimiter: "+" });
  // In one request, local(8) removes the duplicate destination.
  const both = request(["alice@localhost", "alice+lists@localhost"]);
  await t.transport.deliver(both);
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  // qmgr sends one recipient per request (local_destination_recipient_limit = 1): Postfix
  // then delivers two copies. Repeating either request adds nothing.
  const second = { ...both, queueId: "0000TEST0002" };
  for (const r of second.recipients) {
    for (let i = 0; i < 2; i++) {
      await t.transport.deliver(redelivery({ ...second, recipients: [r] }));
    }
  }
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 3);
  await t.cleanup();
});

Deno.test("local: a retry after one alias member failed does not repeat the others", async () => {
  const t = await local({ alias_maps: "inline:{ {team = alice, bob} }" });
  // bob's home cannot be made: a file is in the way.
  await Deno.mkdir(t.homeBase, { recursive: true });
  await Deno.writeTextFile(join(t.homeBase, "bob"), "in the way");
  const req = request(["team@localhost"]);
  const [first] = await t.transport.deliver(req);
  assert.equal(first.status, "deferred", first.reason);
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  await Deno.remove(join(t.homeBase, "bob"));
  const [retry] = await t.transport.deliver(redelivery(req));
  assert.equal(retry.status, "sent", retry.reason);
  assert.match(retry.reason, /already delivered by an earlier attempt/);
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  assert.equal((await maildirMessages(t.maildir("bob"))).length, 1);
  await t.cleanup();
});

Deno.test("local: mbox delivery stays at-least-once (it cannot be checked cheaply)", async () => {
  const t = await local({ home_mailbox: "" });
  const req = request(["bob@localhost"]);
  await t.transport.deliver(req);
  await t.transport.deliver(redelivery(req));
  const text = await Deno.readTextFile(join(t.spool, "bob"));
  assert.equal(text.match(/^From /gm)?.length, 2);
  await t.cleanup();
});

Deno.test("virtual: the same request again leaves one copy; recipients sharing a Maildir get one each", async () => {
  const t = await setup({
    virtual_mailbox_domains: "example.net",
    virtual_mailbox_maps: "inline:{ a@example.net=shared/, b@example.net=shared/ }",
  });
  const transport = new VirtualTransport(t.config, {
    openTable: t.tables.open,
    rewrite: t.rewriter,
    now: () => FIXED_DATE,
  });
  const req = request(["a@example.net", "b@example.net"]);
  await transport.deliver(req);
  const again = await transport.deliver(redelivery(req));
  assert.deepEqual(again.map((r) => r.reason), [AGAIN, AGAIN]);
  assert.equal((await maildirMessages(join(t.root, "vmail", "shared"))).length, 2);
  await t.cleanup();
});
