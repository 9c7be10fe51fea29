// Header address rewriting (header_rewrite.ts): which headers, and byte-exact splicing.
import assert from "node:assert/strict";
import { splitMessage } from "../../src/cleanup/header_block.ts";
import { headerRole, rewriteHeaderField } from "../../src/cleanup/header_rewrite.ts";
import { bytes, latin1 } from "./helpers.ts";

const field = (text: string) => splitMessage(bytes(text + "\r\n\r\n")).fields[0];
const upper = (_role: string, a: string) =>
  Promise.resolve(a.replace(/@.*/, (d) => d.toUpperCase()));

Deno.test("header_opts.c: sender and recipient headers (Resent-Reply-To counts as a recipient one)", () => {
  for (
    const name of [
      "from",
      "sender",
      "reply-to",
      "errors-to",
      "return-receipt-to",
      "resent-from",
      "resent-sender",
      "return-path",
      "disposition-notification-to",
      "mail-followup-to",
    ]
  ) {
    assert.equal(headerRole(name), "sender", name);
  }
  for (
    const name of [
      "to",
      "cc",
      "bcc",
      "resent-to",
      "resent-cc",
      "resent-bcc",
      "resent-reply-to",
      "apparently-to",
    ]
  ) {
    assert.equal(headerRole(name), "recipient", name);
  }
  for (const name of ["subject", "message-id", "delivered-to", "x-original-to", "received"]) {
    assert.equal(headerRole(name), undefined, name);
  }
});

Deno.test("only the address text changes: names, comments, folding and spacing stay byte for byte", async () => {
  const text = 'To:  "Doe, John"  <john@x.net> (work),\r\n\tteam: a@y.net ;';
  const out = await rewriteHeaderField(field(text), upper);
  assert.equal(latin1(out.raw), 'To:  "Doe, John"  <john@X.NET> (work),\r\n\tteam: a@Y.NET ;\r\n');
});

Deno.test("8-bit display names pass through; a non-UTF-8 address is left alone", async () => {
  const utf8 = new Uint8Array([
    ...bytes("From: "),
    0xc3,
    0xa9,
    ...bytes(" <a@x.net>, "),
    0xff,
    ...bytes("b@y.net\r\n\r\n"),
  ]);
  const out = await rewriteHeaderField(splitMessage(utf8).fields[0], upper);
  assert.deepEqual(
    [...out.raw],
    [...bytes("From: "), 0xc3, 0xa9, ...bytes(" <a@X.NET>, "), 0xff, ...bytes("b@y.net\r\n")],
  );
});

Deno.test("an unchanged field is the same object; a rewritten localpart is quoted when needed", async () => {
  const f = field("Cc: a@x.net");
  assert.equal(await rewriteHeaderField(f, (_r, a) => Promise.resolve(a)), f);
  const subject = field("Subject: a@x.net");
  assert.equal(await rewriteHeaderField(subject, upper), subject);
  const out = await rewriteHeaderField(field("To: joe"), () => Promise.resolve("joe smith@x.net"));
  assert.equal(latin1(out.raw), 'To: "joe smith"@x.net\r\n');
});

Deno.test("the role is passed: From as sender, To as recipient", async () => {
  const seen: string[] = [];
  const record = (role: string, a: string) => (seen.push(`${role} ${a}`), Promise.resolve(a));
  await rewriteHeaderField(field("From: a@x.net"), record);
  await rewriteHeaderField(field("To: b@x.net"), record);
  assert.deepEqual(seen, ["sender a@x.net", "recipient b@x.net"]);
});
