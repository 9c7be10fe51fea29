import assert from "node:assert/strict";
import {
  makeReply,
  parseReplyLine,
  replyDsn,
  replyText,
  saidText,
} from "../../../src/transports/smtp/reply.ts";
import { dotStuff } from "../../../src/transports/smtp/dot_stuff.ts";
import { mailCommand, parseFeatures } from "../../../src/transports/smtp/client.ts";

const reply = (...lines: string[]) => makeReply(lines.map((l) => parseReplyLine(l)!));

Deno.test("reply lines: code, continuation, text; anything else is not a reply", () => {
  assert.deepEqual(parseReplyLine("250-PIPELINING"), {
    code: 250,
    last: false,
    text: "PIPELINING",
  });
  assert.deepEqual(parseReplyLine("250 Ok"), { code: 250, last: true, text: "Ok" });
  assert.deepEqual(parseReplyLine("354"), { code: 354, last: true, text: "" });
  for (const bad of ["", "25", "250x", "hello", "650 no", "2500 x"]) {
    assert.equal(parseReplyLine(bad), undefined, bad);
  }
});

Deno.test("multi-line reply: enhanced code kept once, dsn from it or from the basic code", () => {
  const r = reply("550-5.1.1 <u@x>: Recipient address rejected:", "550 5.1.1 User unknown");
  assert.equal(r.enhanced, "5.1.1");
  assert.equal(replyText(r), "550 5.1.1 <u@x>: Recipient address rejected: User unknown");
  assert.equal(
    saidText("mx.example.test[127.0.0.2]", r, "RCPT TO"),
    "host mx.example.test[127.0.0.2] said: 550 5.1.1 <u@x>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
  );
  assert.equal(replyDsn(reply("421 closing")), "4.0.0");
  // RFC 3463: a class that disagrees with the reply code is not an enhanced code.
  assert.equal(replyDsn(reply("550 2.0.0 odd")), "5.0.0");
});

Deno.test("dot-stuffing doubles leading dots only, and ends the body with CRLF", () => {
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(dec(dotStuff(enc(".a\r\nb.\r\n.\r\n"))), "..a\r\nb.\r\n..\r\n");
  assert.equal(dec(dotStuff(enc("no newline"))), "no newline\r\n");
  assert.equal(dec(dotStuff(enc(""))), "");
});

Deno.test("EHLO keywords and the MAIL FROM parameters they allow", () => {
  const f = parseFeatures(
    reply("250-mx", "250-PIPELINING", "250-SIZE 1000", "250-8BITMIME", "250-DSN", "250 STARTTLS"),
  );
  assert.deepEqual(f, {
    esmtp: true,
    pipelining: true,
    size: 1000,
    eightBitMime: true,
    smtputf8: false,
    dsn: true,
    starttls: true,
  });
  const msg = {
    sender: "",
    recipients: [],
    content: new Uint8Array([0x41, 0xe9, 13, 10]),
    ret: "FULL" as const,
    envid: "a b",
  };
  assert.equal(mailCommand(msg, f), "MAIL FROM:<> SIZE=4 BODY=8BITMIME RET=FULL ENVID=a+20b\r\n");
  // No 8BITMIME: 8-bit content goes as is, without BODY= (no MIME downgrade).
  assert.equal(
    mailCommand(msg, { ...f, eightBitMime: false, dsn: false }),
    "MAIL FROM:<> SIZE=4\r\n",
  );
});
