import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { cleanup } from "../../src/cleanup/mod.ts";
import {
  ARRIVAL_DATE,
  bytes,
  concatBytes,
  deps,
  latin1,
  RecordingQueue,
  request,
  SETTINGS,
} from "./helpers.ts";

const RECEIVED_ONE = "Received: from client.example.com (localhost [127.0.0.1])\r\n" +
  "\tby mx.example.org (facteur) with ESMTP id 4F2A9C1B3D\r\n" +
  `\tfor <bob@example.net>; ${ARRIVAL_DATE}\r\n`;
const COMPLETE_HEADERS = "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n" +
  "Date: Sun, 22 Nov 2026 10:00:00 +0100\r\nMessage-ID: <abc@example.com>\r\nSubject: hi\r\n";

async function run(content: string | Uint8Array, recipients?: string[], settings = SETTINGS) {
  const queue = new RecordingQueue();
  const id = await cleanup(request(content, {}, recipients), deps(queue, { config: settings }));
  assert.equal(queue.enqueued.length, 1);
  assert.equal(queue.enqueued[0].id, id);
  return queue.enqueued[0];
}

Deno.test("Received: with one recipient has the for clause, and a complete message is otherwise untouched", async () => {
  const original = COMPLETE_HEADERS + "\r\nHello\r\n";
  const stored = await run(original);
  assert.equal(stored.id, "4F2A9C1B3D");
  assert.equal(latin1(stored.content), RECEIVED_ONE + original);
});

Deno.test("Received: with several recipients has no for clause; the date goes on its own line", async () => {
  const stored = await run(COMPLETE_HEADERS + "\r\nx\r\n", [
    "bob@example.net",
    "carol@example.net",
  ]);
  assert.equal(
    latin1(stored.content).split("\r\nFrom: ")[0] + "\r\n",
    "Received: from client.example.com (localhost [127.0.0.1])\r\n" +
      "\tby mx.example.org (facteur) with ESMTP id 4F2A9C1B3D;\r\n" +
      `\t${ARRIVAL_DATE}\r\n`,
  );
  assert.deepEqual(stored.envelope.recipients.map((r) => r.address), [
    "bob@example.net",
    "carol@example.net",
  ]);
});

Deno.test("Received: unknown client name, no HELO, IPv6 literal, protocol, quoted recipient", async () => {
  const queue = new RecordingQueue();
  await cleanup(
    request(COMPLETE_HEADERS, {
      client: { address: "::1" },
      protocol: "ESMTPSA",
    }, ["john doe@example.net"]),
    deps(queue),
  );
  assert.match(
    latin1(queue.enqueued[0].content),
    /^Received: from unknown \(unknown \[IPv6:::1\]\)\r\n\tby mx\.example\.org \(facteur\) with ESMTPSA id 4F2A9C1B3D\r\n\tfor <"john doe"@example\.net>; /,
  );
  assert.deepEqual(queue.enqueued[0].envelope.client, { address: "::1", protocol: "ESMTPSA" });
});

Deno.test("Message-ID, Date and From are added only when missing, after the existing headers", async () => {
  const stored = await run("Subject: no ids\r\nTo: bob@example.net\r\n\r\nbody\r\n");
  assert.equal(
    latin1(stored.content),
    RECEIVED_ONE +
      "Subject: no ids\r\nTo: bob@example.net\r\n" +
      "Message-ID: <20261123090508.4F2A9C1B3D@mx.example.org>\r\n" +
      `Date: ${ARRIVAL_DATE}\r\n` +
      "From: alice@example.com\r\n" +
      "\r\nbody\r\n",
  );

  const onlyDate = await run("date: Sun, 22 Nov 2026 10:00:00 +0100\r\n\r\nb\r\n");
  const text = latin1(onlyDate.content);
  assert.equal(text.match(/^date:/gim)?.length, 1, "existing Date (any case) is not duplicated");
  assert.match(text, /\r\nMessage-ID: <20261123090508\.4F2A9C1B3D@mx\.example\.org>\r\n/);
});

Deno.test("missing From: null sender becomes MAILER-DAEMON@myorigin; a bare sender gets @myorigin", async () => {
  const queue = new RecordingQueue();
  const req = request("Subject: x\r\n\r\n");
  req.envelope.sender = "";
  await cleanup(req, deps(queue));
  assert.match(latin1(queue.enqueued[0].content), /\r\nFrom: MAILER-DAEMON@example\.org\r\n/);
  req.envelope.sender = "postmaster";
  await cleanup(req, deps(queue));
  assert.match(latin1(queue.enqueued[1].content), /\r\nFrom: postmaster@example\.org\r\n/);
});

Deno.test("with Resent- headers, the Resent- forms are checked and added", async () => {
  const stored = await run(COMPLETE_HEADERS + "Resent-From: fwd@example.com\r\n\r\nb\r\n");
  const text = latin1(stored.content);
  assert.match(text, /\r\nResent-Message-ID: <20261123090508\.4F2A9C1B3D@mx\.example\.org>\r\n/);
  assert.ok(text.includes(`\r\nResent-Date: ${ARRIVAL_DATE}\r\n`));
  assert.doesNotMatch(text, /Resent-From: alice/);
  assert.equal(text.match(/^Message-ID:/gm)?.length, 1);
});

Deno.test("undisclosed_recipients_header: nothing by default; added when set and no To/Cc", async () => {
  const noTo = "From: a@example.com\r\nBcc: secret@example.net\r\n\r\nb\r\n";
  assert.doesNotMatch(latin1((await run(noTo)).content), /undisclosed/);
  const withHeader = { ...SETTINGS, undisclosed_recipients_header: "To: undisclosed-recipients:;" };
  const added = latin1((await run(noTo, undefined, withHeader)).content);
  assert.match(added, /\r\nTo: undisclosed-recipients:;\r\n\r\nb\r\n$/);
  const withCc = latin1(
    (await run("Cc: c@example.net\r\n\r\nb\r\n", undefined, withHeader)).content,
  );
  assert.doesNotMatch(withCc, /undisclosed/);
});

Deno.test("Bcc: is kept for mail received over SMTP", async () => {
  const stored = await run(COMPLETE_HEADERS + "Bcc: hidden@example.net\r\n\r\nb\r\n");
  assert.match(latin1(stored.content), /\r\nBcc: hidden@example\.net\r\n/);
});

Deno.test("8-bit header and body bytes are preserved byte for byte", async () => {
  const header = concatBytes(
    bytes("Subject: caf"),
    new Uint8Array([0xe9]), // Latin-1 e-acute: not valid UTF-8
    bytes(" "),
    bytes("déjà vu 日本"), // UTF-8
    bytes("\r\n"),
  );
  const body = new Uint8Array([0x80, 0xff, 0xfe, 0x00, 0x0d, 0x0a, 0xc3, 0x28, 0x0d, 0x0a]);
  const original = concatBytes(bytes(COMPLETE_HEADERS), header, bytes("\r\n"), body);
  const stored = await run(original);
  assert.deepEqual(stored.content, concatBytes(bytes(RECEIVED_ONE), original));
});

Deno.test("hop count: reaching hopcount_limit with our Received: is refused 554 5.4.6, nothing queued", async () => {
  const settings = { ...SETTINGS, hopcount_limit: 5 };
  const hops = (n: number) => "Received: from a by b; x\r\n".repeat(n) + COMPLETE_HEADERS;
  await run(hops(3), undefined, settings); // 3 + ours = 4 < 5
  const queue = new RecordingQueue();
  const err = await cleanup(request(hops(4)), deps(queue, { config: settings })).catch((e) => e);
  assert.ok(err instanceof MailError);
  assert.equal(err.reply, "554 5.4.6 Too many hops");
  assert.equal(queue.enqueued.length, 0);
  // Received: headers in the body do not count.
  await run(COMPLETE_HEADERS + "\r\n" + hops(10), undefined, settings);
});

Deno.test("header_size_limit discards the excess of an over-long header", async () => {
  const settings = { ...SETTINGS, header_size_limit: 40 };
  const folded = "X-Long: " + "a".repeat(20) + "\r\n\t" + "b".repeat(10) + "\r\n\t" +
    "c".repeat(30) +
    "\r\n";
  // "X-Long: aaaa…" (28) + CRLF TAB bbbb… (13) = 41 > 40: only the first line fits.
  const stored = latin1(
    (await run(COMPLETE_HEADERS + folded + "\r\nbody\r\n", undefined, settings)).content,
  );
  assert.match(stored, new RegExp(`\\r\\nX-Long: a{20}\\r\\n\\r\\nbody\\r\\n$`));

  const fits = "X-Fit: " + "a".repeat(20) + "\r\n\t" + "b".repeat(10) + "\r\n"; // 27 + 13 = 40
  const kept = latin1(
    (await run(COMPLETE_HEADERS + fits + "\r\nb\r\n", undefined, settings)).content,
  );
  assert.ok(kept.includes(fits), "a header of exactly the limit is kept whole");

  // One over-long line is cut at the limit, never inside a UTF-8 character.
  const longLine = concatBytes(
    bytes("X-Utf8: " + "x".repeat(31)),
    bytes("é".repeat(10)),
    bytes("\r\n"),
  );
  const cut = (await run(
    concatBytes(bytes(COMPLETE_HEADERS), longLine, bytes("\r\nb\r\n")),
    undefined,
    settings,
  ))
    .content;
  const expected = concatBytes(bytes("X-Utf8: " + "x".repeat(31) + "\r\n\r\nb\r\n"));
  assert.deepEqual(
    cut.subarray(cut.length - expected.length),
    expected,
    "39 bytes: the é at 39-40 is dropped whole",
  );
  // Our own added headers and the other headers are not affected.
  assert.match(latin1(cut), /\r\nSubject: hi\r\n/);
});

Deno.test("edge shapes: empty message, only CRLF, header only, body only, leading white space", async () => {
  const ADDED = "Message-ID: <20261123090508.4F2A9C1B3D@mx.example.org>\r\n" +
    `Date: ${ARRIVAL_DATE}\r\nFrom: alice@example.com\r\n`;
  // No header, no body: only what we add, no separator (RFC 5322 allows a message without body).
  assert.equal(latin1((await run("")).content), RECEIVED_ONE + ADDED);
  // Only CRLF: empty header block, empty body; the separator is kept.
  assert.equal(latin1((await run("\r\n")).content), RECEIVED_ONE + ADDED + "\r\n");
  // Header only, no blank line.
  assert.equal(
    latin1((await run("Subject: only\r\n")).content),
    RECEIVED_ONE + "Subject: only\r\n" + ADDED,
  );
  // Header only, last line without its CRLF: completed so our headers start on their own line.
  assert.equal(
    latin1((await run("Subject: cut")).content),
    RECEIVED_ONE + "Subject: cut\r\n" + ADDED,
  );
  // Body without headers: a separator is inserted (Postfix mime_state "garbage in primary header").
  assert.equal(
    latin1((await run("Hello there\r\n")).content),
    RECEIVED_ONE + ADDED + "\r\nHello there\r\n",
  );
  // A first line starting with white space is not a continuation of our Received:.
  assert.equal(
    latin1((await run(" indented\r\n")).content),
    RECEIVED_ONE + ADDED + "\r\n indented\r\n",
  );
  // A non-header line after headers starts the body, with a separator.
  assert.equal(
    latin1((await run("Subject: s\r\nnot a header\r\nmore\r\n")).content),
    RECEIVED_ONE + "Subject: s\r\n" + ADDED + "\r\nnot a header\r\nmore\r\n",
  );
});

Deno.test("bare LF line endings are tolerated and kept as received", async () => {
  const original = COMPLETE_HEADERS.replaceAll("\r\n", "\n") + "\nbody\n";
  assert.equal(latin1((await run(original)).content), RECEIVED_ONE + original);
});

Deno.test("virtual alias expansion: stored recipients expanded and de-duplicated, Received: names the RCPT", async () => {
  const queue = new RecordingQueue();
  await cleanup(
    request(COMPLETE_HEADERS, {}, ["info@example.net"]),
    deps(queue, {
      expandRecipients: (rcpts) =>
        Promise.resolve(rcpts.flatMap((r) => [
          { address: "bob@example.org", original: r.address },
          { address: "carol@example.org", original: r.address },
          { address: "bob@example.org", original: r.address },
        ])),
    }),
  );
  const stored = queue.enqueued[0];
  assert.deepEqual(stored.envelope.recipients, [
    { address: "bob@example.org", original: "info@example.net" },
    { address: "carol@example.org", original: "info@example.net" },
  ]);
  assert.match(latin1(stored.content), /\r\n\tfor <info@example\.net>; /);

  const none = await cleanup(
    request(COMPLETE_HEADERS),
    deps(new RecordingQueue(), { expandRecipients: () => Promise.resolve([]) }),
  ).catch((e) => e);
  assert.ok(none instanceof MailError);
  assert.equal(none.code, 554);
});

Deno.test("a queue failure reaches the caller unchanged (e.g. 452 4.3.1), no id is returned", async () => {
  const queue = new RecordingQueue();
  queue.failWith = new MailError(452, "4.3.1", "Insufficient system storage");
  await assert.rejects(cleanup(request(COMPLETE_HEADERS), deps(queue)), {
    code: 452,
    enhanced: "4.3.1",
  });
});

Deno.test("the id is returned only after the queue reports the message stored", async () => {
  const order: string[] = [];
  const queue = new RecordingQueue();
  queue.enqueue = async () => {
    await new Promise((r) => setTimeout(r, 20));
    order.push("stored");
  };
  await cleanup(request(COMPLETE_HEADERS), deps(queue)).then(() => order.push("returned"));
  assert.deepEqual(order, ["stored", "returned"]);
});

Deno.test("bad settings are refused with a ConfigError naming the parameter", async () => {
  const cases: [Partial<typeof SETTINGS> & Record<string, unknown>, RegExp][] = [
    [{ hopcount_limit: 0 }, /hopcount_limit/],
    [{ header_size_limit: 1.5 }, /header_size_limit/],
    [{ myhostname: "" }, /myhostname/],
    [{ myhostname: "bad host" }, /myhostname/],
    [{ undisclosed_recipients_header: "no colon here" }, /undisclosed_recipients_header/],
    [{ undisclosed_recipients_header: "To: x\r\nBcc: y" }, /undisclosed_recipients_header/],
  ];
  for (const [override, message] of cases) {
    await assert.rejects(
      cleanup(
        request(COMPLETE_HEADERS),
        deps(new RecordingQueue(), { config: { ...SETTINGS, ...override } }),
      ),
      (err: Error) => err.name === "ConfigError" && message.test(err.message),
      JSON.stringify(override),
    );
  }
});
