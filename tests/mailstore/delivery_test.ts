import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closeMailstore,
  deliverToStore,
  type MailboxChange,
  openMailstore,
  QuotaExceededError,
} from "../../src/mailstore/mod.ts";
import { deliverToMailbox } from "../../src/transports/local/mailbox.ts";
import { enc, names, tempRoot } from "./helpers.ts";

const ID = { queueId: "4XyZ12AB", key: "0", arrivalMs: 1_700_000_000_000 };
const MSG = enc.encode("Subject: hi\r\n\r\nbody\r\n");

Deno.test("delivery: an open store indexes the message at once and tells its listeners", async () => {
  const root = await tempRoot();
  const store = await openMailstore(root);
  const inbox = await store.mailbox("INBOX");
  const heard: MailboxChange[] = [];
  inbox.on((c) => heard.push(c));
  const first = await deliverToStore(root + "/", MSG, ID, { hostname: "h" });
  assert.equal(first.existed, false);
  assert.deepEqual(heard, [{ kind: "exists", uids: [1] }]);
  assert.deepEqual(await names(join(root, "cur")), ["1700000000.Q4XyZ12ABR0.h,S=18,W=21:2,"]);
  const [m] = await inbox.messages();
  assert.equal(m.rfc822Size, 21);
  // The same delivery again (a crash before the queue recorded it): found in cur/, not written twice.
  const again = await deliverToStore(root + "/", MSG, ID, { hostname: "h", redelivery: true });
  assert.equal(again.existed, true);
  assert.deepEqual(inbox.uids(), [1]);
  await closeMailstore(store);
});

Deno.test("delivery: without an open store the file waits in new/ and is indexed at the next open", async () => {
  const root = await tempRoot();
  await deliverToStore(root, MSG, ID, { hostname: "h" });
  assert.deepEqual(await names(join(root, "new")), ["1700000000.Q4XyZ12ABR0.h,S=18,W=21"]);
  const store = await openMailstore(root);
  assert.deepEqual((await store.mailbox("INBOX")).uids(), [1]);
  await closeMailstore(store);
});

Deno.test("delivery: over the Maildir++ quota bounces with 5.2.2; maildirsize is kept up to date", async () => {
  const root = await tempRoot();
  const store = await openMailstore(root);
  await store.setQuotaLimit({ bytes: 40 });
  await deliverToStore(root, MSG, ID);
  assert.match(await Deno.readTextFile(join(root, "maildirsize")), /^40S\n0 0\n18 1\n$/);
  await deliverToStore(root, MSG, { ...ID, key: "1" });
  await assert.rejects(deliverToStore(root, MSG, { ...ID, key: "2" }), QuotaExceededError);
  const outcome = await deliverToMailbox(
    { path: root + "/", sizeLimit: 0, createParents: false },
    {
      content: MSG,
      sender: "s@example.test",
      originalRecipient: "u@example.test",
      deliveredTo: "u@example.test",
      delivery: { ...ID, key: "3" },
    },
    { maildir: "maildir delivery failed: ", mbox: "" },
  );
  assert.deepEqual(outcome, {
    status: "bounced",
    dsn: "5.2.2",
    reason: "maildir delivery failed: Quota exceeded (mailbox for user is full)",
  });
  assert.deepEqual((await store.quota()).usage, { bytes: 36, messages: 2 });
  await closeMailstore(store);
});
