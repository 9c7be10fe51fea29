// The queue manager sends bounce(8)'s notices: failure, success and delay
// notices are queued as new messages, in the same transaction as the attempt.
import assert from "node:assert/strict";
import { type DsnNotify, newQueueId, type QueuedMessage } from "../../src/queue/mod.ts";
import { DeliveryLoop } from "../../src/qmgr/mod.ts";
import { enc, FakeTransport, harness, T0 } from "./helpers.ts";

const dec = new TextDecoder();

type Harness = Awaited<ReturnType<typeof harness>>;

/** Enqueues one message whose recipients carry NOTIFY values. */
async function enqueueWith(
  h: Harness,
  recipients: { address: string; notify?: DsnNotify[] }[],
  sender = "s@example.org",
) {
  const id = newQueueId();
  await h.queue.enqueue(
    id,
    { sender, recipients, arrivalTime: h.clock.now },
    enc.encode("Subject: x\r\nMessage-ID: <orig@example.org>\r\n\r\nbody\r\n"),
  );
  return id;
}

/** Every queued message other than `except`, with its text. */
async function others(h: Harness, except: string[]) {
  const out: { message: QueuedMessage; text: string }[] = [];
  for (const message of await h.queue.list()) {
    if (except.includes(message.id)) continue;
    out.push({ message, text: dec.decode(await h.queue.content(message.id)) });
  }
  return out;
}

/** The per-recipient blocks of the message/delivery-status part, as field maps. */
function reportedRecipients(text: string): Record<string, string>[] {
  const part = text.split(/\r\nContent-Type: message\/delivery-status\r\n\r\n/)[1];
  assert.ok(part, "a message/delivery-status part");
  const body = part.split(/\r\n--/)[0];
  return body.split("\r\n\r\n").slice(1).filter((b) => b.trim() !== "").map((block) =>
    Object.fromEntries(
      block.trim().split("\r\n").map((
        l,
      ) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
    )
  );
}

const bouncing = () =>
  new FakeTransport(
    "virtual",
    (address) =>
      address.startsWith("bad")
        ? { status: "bounced", dsn: "5.2.2", reason: "mailbox full" }
        : { status: "sent", dsn: "2.0.0", reason: "delivered to maildir" },
  );

Deno.test("notices: a bounce queues one failure notice to the sender for the bounced recipients", async () => {
  const h = await harness({}, { virtual: bouncing() });
  const id = await enqueueWith(h, [
    { address: "bad1@mailbox.test" },
    { address: "good@mailbox.test" },
    { address: "bad2@mailbox.test", notify: ["NEVER"] },
  ]);
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined, "every recipient final");
  const [notice, ...more] = await others(h, [id]);
  assert.equal(more.length, 0);
  assert.equal(notice.message.envelope.sender, "");
  assert.deepEqual(notice.message.envelope.recipients.map((r) => r.address), ["s@example.org"]);
  assert.equal(notice.message.envelope.arrivalTime, T0);
  assert.equal(notice.message.queue, "incoming");
  assert.match(notice.text, /^Subject: Undelivered Mail Returned to Sender$/m);
  assert.match(notice.text, /^To: s@example\.org$/m);
  assert.deepEqual(reportedRecipients(notice.text), [{
    "Final-Recipient": "rfc822; bad1@mailbox.test",
    Action: "failed",
    Status: "5.2.2",
    "Diagnostic-Code": "X-Facteur; mailbox full",
    "Last-Attempt-Date": reportedRecipients(notice.text)[0]["Last-Attempt-Date"],
  }]);
  // RET defaults to the whole message.
  assert.match(
    notice.text,
    /Content-Type: message\/rfc822\r\n\r\nSubject: x\r\n.*\r\n\r\nbody\r\n/s,
  );
  assert.ok(h.log.includes(`${id}: sender non-delivery notification: ${notice.message.id}`));
  assert.ok(
    h.log.includes(
      `${notice.message.id}: from=<>, size=${notice.message.size}, nrcpt=1 (queue active)`,
    ),
  );
  await h.close();
});

Deno.test("notices: the failure notice is delivered by the normal path on the next run", async () => {
  const h = await harness({}, { virtual: bouncing() });
  const id = await enqueueWith(h, [{ address: "bad@mailbox.test" }], "alice@localhost");
  await h.loop.runOnce();
  const [notice] = await others(h, [id]);
  await h.loop.runOnce();
  assert.equal(await h.queue.get(notice.message.id), undefined, "delivered");
  const [request] = h.local.requests;
  assert.equal(request.queueId, notice.message.id);
  assert.equal(request.envelope.sender, "");
  assert.deepEqual(request.recipients.map((r) => r.address), ["alice@localhost"]);
  await h.close();
});

Deno.test("notices: nothing goes to the null sender; a double bounce only with notify_classes", async () => {
  let h = await harness({}, { virtual: bouncing() });
  let id = await enqueueWith(h, [{ address: "bad@mailbox.test" }], "");
  await h.loop.runOnce();
  assert.deepEqual(await h.queue.list(), []);
  assert.ok(!h.log.some((l) => l.includes("notification")));
  await h.close();

  h = await harness({ notify_classes: "bounce" }, { virtual: bouncing() });
  id = await enqueueWith(h, [{ address: "bad@mailbox.test" }], "");
  await h.loop.runOnce();
  const [notice, ...more] = await others(h, [id]);
  assert.equal(more.length, 0);
  assert.equal(notice.message.envelope.sender, "double-bounce@mail.example.com");
  assert.deepEqual(notice.message.envelope.recipients.map((r) => r.address), [
    "postmaster@mail.example.com",
  ]);
  assert.match(notice.text, /^Subject: Postmaster Copy: Undelivered Mail$/m);
  assert.ok(h.log.includes(`${id}: postmaster non-delivery notification: ${notice.message.id}`));
  await h.close();
});

Deno.test("notices: NOTIFY=NEVER and NOTIFY=DELAY get no failure notice", async () => {
  const h = await harness({}, { virtual: bouncing() });
  const id = await enqueueWith(h, [
    { address: "bad1@mailbox.test", notify: ["NEVER"] },
    { address: "bad2@mailbox.test", notify: ["DELAY"] },
  ]);
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  assert.deepEqual(await h.queue.list(), []);
  await h.close();
});

Deno.test("notices: NOTIFY=SUCCESS gets a success notice for a final delivery", async () => {
  const h = await harness();
  const id = await enqueueWith(h, [
    { address: "alice@localhost", notify: ["SUCCESS"] },
    { address: "bob@localhost" },
  ]);
  await h.loop.runOnce();
  const [notice, ...more] = await others(h, [id]);
  assert.equal(more.length, 0);
  assert.equal(notice.message.envelope.sender, "");
  assert.match(notice.text, /^Subject: Successful Mail Delivery Report$/m);
  const [rcpt, ...rest] = reportedRecipients(notice.text);
  assert.equal(rest.length, 0);
  assert.equal(rcpt["Final-Recipient"], "rfc822; alice@localhost");
  assert.equal(rcpt.Action, "delivered");
  assert.equal(rcpt.Status, "2.0.0");
  // Success notices return the headers only (as Postfix).
  assert.match(notice.text, /Content-Type: text\/rfc822-headers\r\n\r\nSubject: x\r\n/);
  assert.doesNotMatch(notice.text, /\r\nbody\r\n/);
  assert.ok(h.log.includes(`${id}: sender delivery status notification: ${notice.message.id}`));
  await h.close();
});

Deno.test("notices: NOTIFY=SUCCESS relayed to a next hop that announced DSN is left to it", async () => {
  const smtp = new FakeTransport("smtp", () => ({
    status: "sent",
    dsn: "2.0.0",
    reason: "250 2.0.0 Ok: queued as ABC",
    relay: "mx.far.test[192.0.2.1]:25",
  }));
  const h = await harness({}, { smtp });
  const id = await enqueueWith(h, [{ address: "bob@far.test", notify: ["SUCCESS"] }]);
  await h.loop.runOnce();
  assert.equal(smtp.requests.length, 1);
  assert.equal(await h.queue.get(id), undefined);
  assert.deepEqual(await h.queue.list(), []);
  await h.close();
});

Deno.test("notices: NOTIFY=SUCCESS relayed to a next hop without DSN gets a relayed notice", async () => {
  const smtp = new FakeTransport("smtp", (address) => ({
    status: "sent",
    dsn: "2.0.0",
    reason: "250 2.0.0 Ok: queued as ABC",
    relay: "mx.far.test[192.0.2.1]:25",
    // What the smtp client says of a server without DSN in its EHLO reply.
    successAction: "relayed",
    ...(address.startsWith("lmtp") ? { successAction: "delivered" as const } : {}),
  }));
  const h = await harness({}, { smtp });
  const id = await enqueueWith(h, [
    { address: "bob@far.test", notify: ["SUCCESS"] },
    { address: "carol@far.test" },
    { address: "lmtpuser@far.test", notify: ["SUCCESS", "FAILURE"] },
  ]);
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  const [notice, ...more] = await others(h, [id]);
  assert.equal(more.length, 0, "one notice, only for the recipients with NOTIFY=SUCCESS");
  assert.equal(notice.message.envelope.sender, "");
  assert.match(notice.text, /^Subject: Successful Mail Delivery Report$/m);
  assert.deepEqual(
    reportedRecipients(notice.text).map((r) => ({ ...r, "Last-Attempt-Date": "" })),
    [
      {
        "Final-Recipient": "rfc822; bob@far.test",
        Action: "relayed",
        Status: "2.0.0",
        "Remote-MTA": "dns; mx.far.test",
        "Diagnostic-Code": "smtp; 250 2.0.0 Ok: queued as ABC",
        "Last-Attempt-Date": "",
      },
      {
        "Final-Recipient": "rfc822; lmtpuser@far.test",
        Action: "delivered",
        Status: "2.0.0",
        "Remote-MTA": "dns; mx.far.test",
        "Diagnostic-Code": "smtp; 250 2.0.0 Ok: queued as ABC",
        "Last-Attempt-Date": "",
      },
    ],
  );
  await h.close();
});

Deno.test("notices: a queued notice carries Received: by myhostname (mail_name) id its own queue id", async () => {
  const h = await harness({ mail_name: "Facteur-Test" }, { virtual: bouncing() });
  const id = await enqueueWith(h, [{ address: "bad@mailbox.test" }]);
  await h.loop.runOnce();
  const [notice] = await others(h, [id]);
  const received = notice.text.split("\r\nFrom: ")[0];
  assert.match(
    received,
    new RegExp(
      `^Received: by mail\\.example\\.com \\(Facteur-Test\\)\r\n\tid ${notice.message.id}; ` +
        `\\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}$`,
    ),
  );
  await h.close();
});

Deno.test("notices: soft_bounce keeps the recipient queued and sends no failure notice", async () => {
  const h = await harness({ soft_bounce: "yes" }, { virtual: bouncing() });
  const id = await enqueueWith(h, [{ address: "bad@mailbox.test" }]);
  await h.loop.runOnce();
  assert.equal((await h.queue.get(id))?.envelope.recipients[0].status, "deferred");
  assert.deepEqual(await others(h, [id]), []);
  await h.close();
});

Deno.test("notices: expiry after maximal_queue_lifetime returns the message with 5.4.7", async () => {
  const busy = new FakeTransport(
    "virtual",
    () => ({ status: "deferred", dsn: "4.2.1", reason: "mailbox busy" }),
  );
  const h = await harness({ maximal_queue_lifetime: "1d" }, { virtual: busy });
  const id = await enqueueWith(h, [{ address: "u@mailbox.test" }]);
  await h.loop.runOnce();
  assert.deepEqual(await others(h, [id]), [], "deferred: no notice (delay_warning_time is 0)");
  h.clock.now = T0 + 86_400_000;
  await h.loop.runOnce();
  assert.equal(await h.queue.get(id), undefined);
  const [notice] = await others(h, [id]);
  const [rcpt] = reportedRecipients(notice.text);
  assert.equal(rcpt.Status, "5.4.7");
  assert.equal(rcpt.Action, "failed");
  assert.match(rcpt["Diagnostic-Code"], /delivery time expired after 1d; last error: mailbox busy/);
  await h.close();
});

Deno.test("notices: one delay warning after delay_warning_time, for recipients that want DELAY", async () => {
  const busy = new FakeTransport(
    "virtual",
    () => ({ status: "deferred", dsn: "4.2.1", reason: "mailbox busy" }),
  );
  const h = await harness({ delay_warning_time: "1h", maximal_queue_lifetime: "5d" }, {
    virtual: busy,
  });
  const id = await enqueueWith(h, [
    { address: "u@mailbox.test" },
    { address: "v@mailbox.test", notify: ["FAILURE"] },
  ]);
  await h.loop.runOnce();
  assert.deepEqual(await others(h, [id]), [], "too young for a warning");
  assert.equal((await h.queue.get(id))?.delayWarned, undefined);

  h.clock.now = T0 + 3_600_000;
  await h.loop.runOnce();
  const [notice, ...more] = await others(h, [id]);
  assert.equal(more.length, 0);
  assert.match(notice.text, /^Subject: Delayed Mail \(still being retried\)$/m);
  const rcpts = reportedRecipients(notice.text);
  assert.deepEqual(rcpts.map((r) => [r["Final-Recipient"], r.Action, r.Status]), [
    ["rfc822; u@mailbox.test", "delayed", "4.2.1"],
  ]);
  assert.ok(rcpts[0]["Will-Retry-Until"]);
  assert.equal((await h.queue.get(id))?.delayWarned, true);
  assert.ok(h.log.includes(`${id}: sender delay notification: ${notice.message.id}`));

  await h.queue.remove(notice.message.id);
  h.clock.now = (await h.queue.get(id))!.nextAttempt;
  await h.loop.runOnce();
  assert.equal(busy.requests.length, 3);
  assert.deepEqual(await others(h, [id]), [], "warned once only");
  await h.close();
});

Deno.test("notices: results and notices commit together or not at all", async () => {
  const h = await harness({}, { virtual: bouncing() });
  const id = await enqueueWith(h, [{ address: "bad@mailbox.test" }]);
  const other = await enqueueWith(h, [{ address: "x@mailbox.test" }]);
  const [message] = await h.queue.claimDue(h.clock.now, 1);
  assert.equal(message.id, id);
  const notice = (noticeId: string) => ({
    id: noticeId,
    envelope: { sender: "", recipients: [{ address: "s@example.org" }], arrivalTime: T0 },
    content: enc.encode("Subject: n\r\n\r\nn\r\n"),
  });
  const bounced = [{ index: 0, status: "bounced" as const, dsn: "5.0.0", reason: "x" }];
  // The notice cannot be stored (its id is taken) after the results were written: all undone.
  await assert.rejects(h.queue.recordAttempt(id, bounced, T0, { notices: [notice(other)] }));
  assert.equal((await h.queue.get(id))?.envelope.recipients[0].status, "pending");
  assert.equal((await h.queue.get(other))?.envelope.sender, "s@example.org");

  const noticeId = newQueueId();
  await h.queue.recordAttempt(id, bounced, T0, { notices: [notice(noticeId)] });
  assert.equal(await h.queue.get(id), undefined);
  assert.equal((await h.queue.get(noticeId))?.envelope.sender, "");
  await h.close();
});

Deno.test("notices: an unreadable original costs the notice, not a second delivery", async () => {
  const h = await harness();
  const id = await enqueueWith(h, [{ address: "nobody@alias.test" }]);
  const failing = new Proxy(h.queue, {
    get(target, prop, receiver) {
      if (prop === "content") return () => Promise.reject(new Error("disk error"));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const loop = new DeliveryLoop({ ...h.loopOptions, queue: failing });
  await loop.runOnce();
  assert.equal(await h.queue.get(id), undefined, "the bounce is recorded");
  assert.deepEqual(await h.queue.list(), []);
  assert.ok(
    h.log.includes(`warning: ${id}: cannot build delivery status notices: disk error`),
    h.log.join("\n"),
  );
  await loop.stop();
  await h.close();
});
