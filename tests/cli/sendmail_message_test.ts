// The message sendmail reads on stdin, as it goes into SMTP DATA.
import assert from "node:assert/strict";
import {
  displayName,
  dotStuff,
  headerAddresses,
  prepareMessage,
  type PrepareOptions,
} from "../../src/cli/sendmail_message.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const base: PrepareOptions = { dotEndsInput: true, extractRecipients: false, sender: "me@x.test" };

Deno.test("LF becomes CRLF; CRLF input stays CRLF; a missing last newline is added", () => {
  const m = prepareMessage(enc("Subject: hi\n\nline 1\r\nline 2"), base);
  assert.equal(dec(m.content), "Subject: hi\r\n\r\nline 1\r\nline 2\r\n");
});

Deno.test("a lone dot ends the input, unless -i", () => {
  const input = enc("Subject: a\n\nbefore\n.\nafter\n");
  assert.equal(dec(prepareMessage(input, base).content), "Subject: a\r\n\r\nbefore\r\n");
  assert.equal(
    dec(prepareMessage(input, { ...base, dotEndsInput: false }).content),
    "Subject: a\r\n\r\nbefore\r\n.\r\nafter\r\n",
  );
  // "..", ". " and ".x" are text, not the end
  assert.equal(
    dec(prepareMessage(enc("\n..\n. \n.x\n"), base).content),
    "\r\n..\r\n. \r\n.x\r\n",
  );
});

Deno.test("dot-stuffing doubles a leading dot and ends with CRLF.CRLF (RFC 5321 4.5.2)", () => {
  assert.equal(dec(dotStuff(enc("a\r\n.b\r\n.\r\n"))), "a\r\n..b\r\n..\r\n.\r\n");
  assert.equal(dec(dotStuff(new Uint8Array())), ".\r\n");
});

Deno.test("-t: recipients from To, Cc and Bcc (groups, display names, folding); Bcc removed", () => {
  const input = enc(
    'To: "Smith, Ann" <ann@x.test>, bob@y.test\n' +
      "Cc: friends: carl@z.test, dave@z.test;,\n" +
      "  eve@z.test\n" +
      "Bcc: secret@hidden.test\n" +
      "  , other@hidden.test\n" +
      "Subject: t\n\nbody\nBcc: in the body stays\n",
  );
  const m = prepareMessage(input, { ...base, extractRecipients: true });
  assert.deepEqual(m.headerRecipients, [
    "ann@x.test",
    "bob@y.test",
    "carl@z.test",
    "dave@z.test",
    "eve@z.test",
    "secret@hidden.test",
    "other@hidden.test",
  ]);
  assert.equal(
    dec(m.content),
    'To: "Smith, Ann" <ann@x.test>, bob@y.test\r\n' +
      "Cc: friends: carl@z.test, dave@z.test;,\r\n  eve@z.test\r\n" +
      "Subject: t\r\n\r\nbody\r\nBcc: in the body stays\r\n",
  );
});

Deno.test("-t: Resent- recipients replace the original ones (RFC 5322 3.6.6)", () => {
  const input = enc("To: old@x.test\nResent-To: new@y.test\nResent-Bcc: hid@y.test\n\nb\n");
  const m = prepareMessage(input, { ...base, extractRecipients: true });
  assert.deepEqual(m.headerRecipients, ["new@y.test", "hid@y.test"]);
  assert.ok(!dec(m.content).includes("Resent-Bcc"));
});

Deno.test("without -t, Bcc stays (the server decides) and no recipients are taken from headers", () => {
  const m = prepareMessage(enc("To: a@x.test\nBcc: b@x.test\n\nbody\n"), base);
  assert.deepEqual(m.headerRecipients, []);
  assert.match(dec(m.content), /^Bcc: b@x\.test\r$/m);
});

Deno.test("-F adds From: when missing, quoting the name when needed; an existing From: wins", () => {
  const add = (name: string, input = "Subject: s\n\nb\n") =>
    dec(prepareMessage(enc(input), { ...base, fullName: name }).content);
  assert.equal(add("Cron Daemon"), "Subject: s\r\nFrom: Cron Daemon <me@x.test>\r\n\r\nb\r\n");
  assert.equal(add("Doe, John"), 'Subject: s\r\nFrom: "Doe, John" <me@x.test>\r\n\r\nb\r\n');
  assert.equal(add("x", "From: real@x.test\n\nb\n"), "From: real@x.test\r\n\r\nb\r\n");
  // body only, no header: the From: goes first, then the blank line
  assert.equal(add("Cron", "just text\n"), "From: Cron <me@x.test>\r\n\r\njust text\r\n");
  assert.equal(displayName('"Already Quoted"'), '"Already Quoted"');
});

Deno.test("a leading mbox 'From ' line is dropped; 8-bit bytes pass unchanged and are flagged", () => {
  const bytes = new Uint8Array([
    ...enc("From me Mon Jan 1\nSubject: caf"),
    0xe9,
    ...enc("\n\nb\n"),
  ]);
  const m = prepareMessage(bytes, base);
  assert.deepEqual([...m.content], [...enc("Subject: caf"), 0xe9, ...enc("\r\n\r\nb\r\n")]);
  assert.equal(m.eightBit, true);
  assert.equal(prepareMessage(enc("a\n"), base).eightBit, false);
});

Deno.test("header address lists: comments, route-less brackets, undisclosed groups", () => {
  assert.deepEqual(headerAddresses(" a@x.test (Al), B <b@x.test>"), ["a@x.test", "b@x.test"]);
  assert.deepEqual(headerAddresses(" undisclosed-recipients:;"), []);
  assert.deepEqual(headerAddresses(' "odd local"@x.test'), ["odd local@x.test"]);
});
