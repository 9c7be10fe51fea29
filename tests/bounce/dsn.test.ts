import assert from "node:assert/strict";
import { buildDsn, type DsnInput } from "../../src/bounce/mod.ts";
import { requirePeer } from "../peers.ts";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

const ORIGINAL = "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: hello\r\n" +
  "Message-ID: <m1@example.org>\r\n\r\nline one\r\nline two\r\n";

function input(extra: Partial<DsnInput> = {}): DsnInput {
  return {
    kind: "failure",
    myhostname: "mx.example.org",
    queueId: "4Xyz12AbC",
    sender: "alice@example.org",
    arrivalTime: Date.UTC(2026, 10, 23, 10, 0, 0),
    recipients: [{
      address: "bob@example.net",
      action: "failed",
      status: "5.1.1",
      reason: "host mx.example.net[192.0.2.7] said: 550 5.1.1 <bob@example.net>: no such user",
      remoteReply: "550 5.1.1 <bob@example.net>: no such user",
      relay: "mx.example.net[192.0.2.7]:25",
    }],
    original: enc.encode(ORIGINAL),
    bounceSizeLimit: 50000,
    now: new Date(Date.UTC(2026, 10, 23, 12, 0, 0)),
    utcOffsetMinutes: 0,
    ...extra,
  };
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Unfolds and splits a header block; names lower-cased. */
function parseHeaders(block: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return map;
}

function parseEntity(text: string): Part {
  const end = text.indexOf("\r\n\r\n");
  return { headers: parseHeaders(text.slice(0, end)), body: text.slice(end + 4) };
}

/** Top-level headers and the three parts of the multipart/report. */
function parseReport(bytes: Uint8Array): { top: Part; parts: Part[] } {
  const text = latin1.decode(bytes);
  assert.ok(!/[^\r]\n/.test(text), "every line ends with CRLF");
  const top = parseEntity(text);
  const boundary = top.headers.get("content-type")!.match(/boundary="([^"]+)"/)![1];
  const pieces = top.body.split(`\r\n--${boundary}`);
  assert.ok(pieces[pieces.length - 1].startsWith("--"), "closing delimiter present");
  const parts = pieces.slice(1, -1).map((p) => parseEntity(p.replace(/^\r\n/, "")));
  return { top, parts };
}

/** Blocks of "Name: value" fields in a delivery-status body. */
function statusBlocks(body: string): Map<string, string>[] {
  return body.trim().split(/\r\n\r\n/).map(parseHeaders);
}

Deno.test("failure notice: Postfix-style headers and RFC 3464 report structure", () => {
  const { top, parts } = parseReport(buildDsn(input()));
  assert.equal(top.headers.get("from"), "MAILER-DAEMON@mx.example.org (Mail Delivery System)");
  assert.equal(top.headers.get("subject"), "Undelivered Mail Returned to Sender");
  assert.equal(top.headers.get("to"), "alice@example.org");
  assert.equal(top.headers.get("auto-submitted"), "auto-replied");
  assert.equal(top.headers.get("date"), "Mon, 23 Nov 2026 12:00:00 +0000");
  assert.match(
    top.headers.get("message-id")!,
    /^<20261123120000\.4Xyz12AbC\.failure@mx\.example\.org>$/,
  );
  assert.equal(top.headers.get("mime-version"), "1.0");
  assert.match(
    top.headers.get("content-type")!,
    /^multipart\/report; report-type=delivery-status;/,
  );
  assert.equal(top.headers.get("content-transfer-encoding"), undefined);

  assert.equal(parts.length, 3);
  assert.equal(parts[0].headers.get("content-type"), "text/plain; charset=us-ascii");
  assert.match(parts[0].body, /^This is the mail system at host mx\.example\.org\./);
  assert.match(parts[0].body, /could not\r\nbe delivered/);
  assert.match(
    parts[0].body,
    /<bob@example\.net>: host mx\.example\.net\[192\.0\.2\.7\] said: 550/,
  );

  assert.equal(parts[1].headers.get("content-type"), "message/delivery-status");
  const [msg, rcpt, ...rest] = statusBlocks(parts[1].body);
  assert.equal(rest.length, 0);
  assert.equal(msg.get("reporting-mta"), "dns; mx.example.org");
  assert.equal(msg.get("x-facteur-queue-id"), "4Xyz12AbC");
  assert.equal(msg.get("arrival-date"), "Mon, 23 Nov 2026 10:00:00 +0000");
  assert.equal(msg.has("original-envelope-id"), false);
  assert.equal(rcpt.get("final-recipient"), "rfc822; bob@example.net");
  assert.equal(rcpt.has("original-recipient"), false);
  assert.equal(rcpt.get("action"), "failed");
  assert.equal(rcpt.get("status"), "5.1.1");
  assert.equal(rcpt.get("remote-mta"), "dns; mx.example.net");
  assert.equal(rcpt.get("diagnostic-code"), "smtp; 550 5.1.1 <bob@example.net>: no such user");
  assert.equal(rcpt.has("will-retry-until"), false);

  // RET unspecified: Postfix returns the whole message on failure.
  assert.equal(parts[2].headers.get("content-type"), "message/rfc822");
  assert.equal(parts[2].body, ORIGINAL);
});

Deno.test("RET=HDRS returns text/rfc822-headers with the header block only", () => {
  const { parts } = parseReport(buildDsn(input({ ret: "HDRS" })));
  assert.equal(parts[2].headers.get("content-type"), "text/rfc822-headers");
  assert.equal(parts[2].body, ORIGINAL.slice(0, ORIGINAL.indexOf("\r\n\r\n") + 2));
  assert.ok(!parts[2].body.includes("line one"));
});

Deno.test("postmaster copies: Postfix's postmaster subjects, headers only, own Message-Id", () => {
  const copy = input({
    to: "postmaster@example.org",
    postmasterCopy: true,
    headersOnly: true,
    noticeId: "5Abc",
  });
  const { top, parts } = parseReport(buildDsn(copy));
  assert.equal(top.headers.get("subject"), "Postmaster Copy: Undelivered Mail");
  assert.equal(top.headers.get("to"), "postmaster@example.org");
  assert.equal(top.headers.get("message-id"), "<20261123120000.5Abc@mx.example.org>");
  assert.equal(parts[2].headers.get("content-type"), "text/rfc822-headers");
  const delay = input({ kind: "delay", postmasterCopy: true, to: "postmaster@example.org" });
  assert.equal(
    parseReport(buildDsn(delay)).top.headers.get("subject"),
    "Postmaster Warning: Delayed Mail",
  );
});

Deno.test("RET=FULL returns the whole message", () => {
  const { parts } = parseReport(buildDsn(input({ ret: "FULL" })));
  assert.equal(parts[2].headers.get("content-type"), "message/rfc822");
  assert.equal(parts[2].body, ORIGINAL);
});

Deno.test("ENVID and ORCPT give Original-Envelope-Id and Original-Recipient", () => {
  const base = input();
  const bytes = buildDsn(input({
    envid: "QQ314159",
    recipients: [{ ...base.recipients[0], orcpt: "rfc822;Bob+Alias@example.net" }],
  }));
  const [msg, rcpt] = statusBlocks(parseReport(bytes).parts[1].body);
  assert.equal(msg.get("original-envelope-id"), "QQ314159");
  assert.equal(rcpt.get("original-recipient"), "rfc822; Bob+Alias@example.net");
  assert.equal(rcpt.get("final-recipient"), "rfc822; bob@example.net");
});

Deno.test("local failure: no Remote-MTA, own diagnostic type", () => {
  const bytes = buildDsn(input({
    recipients: [{
      address: "carol@mx.example.org",
      action: "failed",
      status: "5.1.1",
      reason: 'unknown user: "carol"',
      relay: "local",
    }],
  }));
  const [, rcpt] = statusBlocks(parseReport(bytes).parts[1].body);
  assert.equal(rcpt.has("remote-mta"), false);
  assert.equal(rcpt.get("diagnostic-code"), 'X-Facteur; unknown user: "carol"');
});

Deno.test("delay notice: warning text, Action delayed, Will-Retry-Until, headers only", () => {
  const bytes = buildDsn(input({
    kind: "delay",
    recipients: [{
      address: "bob@example.net",
      action: "delayed",
      status: "4.4.1",
      reason: "connect to mx.example.net[192.0.2.7]:25: Connection refused",
      relay: "mx.example.net[192.0.2.7]:25",
      willRetryUntil: Date.UTC(2026, 10, 28, 10, 0, 0),
      lastAttempt: Date.UTC(2026, 10, 23, 11, 30, 0),
    }],
  }));
  const { top, parts } = parseReport(bytes);
  assert.equal(top.headers.get("subject"), "Delayed Mail (still being retried)");
  assert.match(parts[0].body, /THIS IS A WARNING ONLY/);
  const [, rcpt] = statusBlocks(parts[1].body);
  assert.equal(rcpt.get("action"), "delayed");
  assert.equal(rcpt.get("status"), "4.4.1");
  assert.equal(rcpt.get("will-retry-until"), "Sat, 28 Nov 2026 10:00:00 +0000");
  assert.equal(rcpt.get("last-attempt-date"), "Mon, 23 Nov 2026 11:30:00 +0000");
  assert.equal(parts[2].headers.get("content-type"), "text/rfc822-headers");
  assert.ok(!parts[2].body.includes("line one"));
});

Deno.test("success notice: Action delivered, several recipients, one block each", () => {
  const bytes = buildDsn(input({
    kind: "success",
    recipients: [
      {
        address: "bob@example.net",
        action: "relayed",
        status: "2.0.0",
        reason: "250 2.0.0 Ok: queued as X",
        remoteReply: "250 2.0.0 Ok: queued as X",
        relay: "mx.example.net[192.0.2.7]:25",
      },
      {
        address: "carol@mx.example.org",
        action: "delivered",
        status: "2.0.0",
        reason: "delivered to maildir",
        relay: "local",
      },
    ],
  }));
  const { top, parts } = parseReport(bytes);
  assert.equal(top.headers.get("subject"), "Successful Mail Delivery Report");
  const blocks = statusBlocks(parts[1].body);
  assert.equal(blocks.length, 3);
  assert.deepEqual(blocks.slice(1).map((b) => b.get("action")), ["relayed", "delivered"]);
  assert.match(parts[0].body, /<carol@mx\.example\.org>: delivered to maildir/);
});

Deno.test("the original is cut at a line end within bounce_size_limit", () => {
  const body =
    Array.from({ length: 200 }, (_, i) => `body line ${i} ${"x".repeat(40)}`).join("\r\n") + "\r\n";
  const original = ORIGINAL + body;
  const { parts } = parseReport(
    buildDsn(input({ original: enc.encode(original), bounceSizeLimit: 1000 })),
  );
  const returned = parts[2].body;
  assert.ok(returned.length <= 1000, `returned ${returned.length} bytes`);
  assert.ok(returned.length > 900);
  assert.ok(returned.endsWith("\r\n"));
  assert.ok(original.startsWith(returned));
});

Deno.test("bounce_size_limit 0 returns the whole original (as Postfix)", () => {
  const original = ORIGINAL + "x".repeat(70000) + "\r\n";
  const { parts } = parseReport(
    buildDsn(input({ original: enc.encode(original), bounceSizeLimit: 0 })),
  );
  assert.equal(parts[2].body, original);
});

Deno.test("8-bit original: the part and the report are declared 8bit", () => {
  const original = new Uint8Array([
    ...enc.encode(ORIGINAL),
    ...enc.encode("caf\u00e9 cr\u00e8me\r\n"),
  ]);
  const bytes = buildDsn(input({ original }));
  const { top, parts } = parseReport(bytes);
  assert.equal(top.headers.get("content-transfer-encoding"), "8bit");
  assert.equal(parts[2].headers.get("content-transfer-encoding"), "8bit");
  assert.equal(parts[0].headers.get("content-transfer-encoding"), undefined);
  // bytes returned unchanged
  const tail = enc.encode("caf\u00e9 cr\u00e8me\r\n");
  assert.ok(latin1.decode(bytes).includes(latin1.decode(tail)));
});

Deno.test("SMTPUTF8 original: RFC 6533 global types and utf-8 address type", () => {
  const bytes = buildDsn(input({
    smtputf8: true,
    sender: "al\u00efce@example.org",
    recipients: [{
      address: "b\u00f6b@example.net",
      action: "failed",
      status: "5.1.1",
      reason: "no such user",
    }],
  }));
  const { top, parts } = parseReport(bytes);
  assert.equal(top.headers.get("content-transfer-encoding"), "8bit");
  assert.equal(parts[1].headers.get("content-type"), "message/global-delivery-status");
  assert.match(top.headers.get("content-type")!, /report-type=global-delivery-status;/);
  assert.equal(parts[2].headers.get("content-type"), "message/global");
  const [, rcpt] = statusBlocks(parts[1].body);
  assert.ok(rcpt.get("final-recipient")!.startsWith("utf-8; "));
  assert.equal(top.headers.get("to"), latin1.decode(enc.encode("al\u00efce@example.org")));
});

Deno.test("a boundary that occurs in the original is not reused", () => {
  const first = parseReport(buildDsn(input())).top.headers.get("content-type")!;
  const boundary = first.match(/boundary="([^"]+)"/)![1];
  const original = ORIGINAL + `--${boundary}\r\n`;
  const { top, parts } = parseReport(buildDsn(input({ original: enc.encode(original) })));
  assert.notEqual(top.headers.get("content-type"), first);
  assert.equal(parts[2].body, original);
});

Deno.test("control characters in reasons cannot add fields; bad input is refused precisely", () => {
  const base = input();
  const bytes = buildDsn(input({
    recipients: [{ ...base.recipients[0], reason: "550 no\r\nAction: delivered" }],
  }));
  const [, rcpt] = statusBlocks(parseReport(bytes).parts[1].body);
  assert.equal(rcpt.get("action"), "failed");
  assert.throws(() => buildDsn(input({ sender: "" })), /no notice to the null sender/);
  assert.throws(() => buildDsn(input({ recipients: [] })), /at least one recipient/);
  assert.throws(
    () => buildDsn(input({ recipients: [{ ...base.recipients[0], status: "550" }] })),
    /invalid enhanced status "550"/,
  );
  assert.throws(() => buildDsn(input({ bounceSizeLimit: -1 })), /bounce_size_limit/);
  assert.throws(() => buildDsn(input({ myhostname: "a b\r\nX: y" })), /invalid myhostname/);
});

const PY_CHECK = `
import sys, email
msg = email.message_from_bytes(sys.stdin.buffer.read())
parts = msg.get_payload()
print(msg.get_content_type(), msg.get_param("report-type"), len(parts))
for p in parts:
    print(p.get_content_type())
status = parts[1].get_payload()
print(len(status))
for block in status:
    print(block.get("Action") or block.get("Reporting-MTA"))
if parts[2].get_content_type() == "message/rfc822":
    print(parts[2].get_payload()[0]["Subject"])
`;

async function python(bytes: Uint8Array): Promise<string[]> {
  const child = new Deno.Command("python3", {
    args: ["-c", PY_CHECK],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

Deno.test({
  name: "python's email package parses failure, delay and success reports",
  ...requirePeer("python3", "python3"),
  fn: async () => {
    assert.deepEqual(await python(buildDsn(input())), [
      "multipart/report delivery-status 3",
      "text/plain",
      "message/delivery-status",
      "message/rfc822",
      "2",
      "dns; mx.example.org",
      "failed",
      "hello",
    ]);
    const delay = input({
      kind: "delay",
      recipients: [{
        address: "bob@example.net",
        action: "delayed",
        status: "4.4.1",
        reason: "timeout",
      }],
    });
    assert.deepEqual(await python(buildDsn(delay)), [
      "multipart/report delivery-status 3",
      "text/plain",
      "message/delivery-status",
      "text/rfc822-headers",
      "2",
      "dns; mx.example.org",
      "delayed",
    ]);
    const success = input({
      kind: "success",
      recipients: [{
        address: "bob@example.net",
        action: "delivered",
        status: "2.0.0",
        reason: "ok",
      }],
    });
    assert.deepEqual((await python(buildDsn(success))).slice(-1), ["delivered"]);
  },
});

Deno.test("a notice starts with a Received: header saying where it was made (as Postfix's bounces)", () => {
  const text = latin1.decode(buildDsn(input({ noticeId: "5Abc34DeF", mailName: "facteur" })));
  assert.ok(
    text.startsWith(
      "Received: by mx.example.org (facteur)\r\n\tid 5Abc34DeF; Mon, 23 Nov 2026 12:00:00 +0000\r\n" +
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n",
    ),
    text.slice(0, 200),
  );
  // Without its own queue id the notice still gets the trace line, date after "by".
  const anonymous = latin1.decode(buildDsn(input({ mailName: "Postfix-ish 3" })));
  assert.ok(
    anonymous.startsWith(
      "Received: by mx.example.org (Postfix-ish 3);\r\n\tMon, 23 Nov 2026 12:00:00 +0000\r\n",
    ),
  );
  // mail_name goes inside a comment: parentheses and control characters could break it.
  assert.throws(() => buildDsn(input({ mailName: "x) by evil" })), /invalid mail_name/);
  assert.throws(() => buildDsn(input({ mailName: "x\r\nBcc: y" })), /invalid mail_name/);
});

Deno.test("relayed notice: Action relayed, Remote-MTA and the next hop's 250 reply", () => {
  const { parts } = parseReport(buildDsn(input({
    kind: "success",
    recipients: [{
      address: "bob@example.net",
      action: "relayed",
      status: "2.0.0",
      reason: "250 2.0.0 Ok: queued as 4FxQ",
      remoteReply: "250 2.0.0 Ok: queued as 4FxQ",
      relay: "mx.example.net[192.0.2.7]:25",
    }],
  })));
  const [, rcpt] = statusBlocks(parts[1].body);
  assert.equal(rcpt.get("action"), "relayed");
  assert.equal(rcpt.get("status"), "2.0.0");
  assert.equal(rcpt.get("remote-mta"), "dns; mx.example.net");
  assert.equal(rcpt.get("diagnostic-code"), "smtp; 250 2.0.0 Ok: queued as 4FxQ");
});
