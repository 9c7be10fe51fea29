import assert from "node:assert/strict";
import {
  fetchSection,
  headerFields,
  parseMessage,
  parseSection,
  partAt,
  sectionRange,
  toCrlf,
} from "../../src/mime/mod.ts";
import { crlf, fixture, latin1, slice } from "./helpers.ts";

Deno.test("section spec syntax (RFC 3501 6.4.5)", () => {
  assert.deepEqual(parseSection(""), { path: [], text: "", fields: [] });
  assert.deepEqual(parseSection("1.2.MIME"), { path: [1, 2], text: "MIME", fields: [] });
  assert.deepEqual(parseSection('header.fields (From "To")'), {
    path: [],
    text: "HEADER.FIELDS",
    fields: ["From", "To"],
  });
  assert.deepEqual(parseSection("2.HEADER.FIELDS.NOT (Subject)")?.text, "HEADER.FIELDS.NOT");
  for (
    const bad of [
      "MIME",
      "0",
      "1..2",
      "1.",
      "HEADER.FIELDS",
      "HEADER.FIELDS ()",
      "TEXT (a)",
      "1MIME",
    ]
  ) {
    assert.equal(parseSection(bad), undefined, bad);
  }
});

Deno.test("sections of a message with an attached message/rfc822", () => {
  const bytes = fixture("13-message-rfc822.eml");
  const root = parseMessage(bytes);
  const text = (spec: string) => {
    const r = sectionRange(root, spec);
    return r && slice(bytes, r.start, r.end);
  };
  assert.equal(text(""), latin1(bytes));
  assert.equal(text("1"), "See attached.");
  assert.equal(text("1.MIME"), "Content-Type: text/plain\r\n\r\n");
  // The line end after "--orig--" stays: it starts no boundary line of its own (as Dovecot).
  assert.match(text("2")!, /^From: Original Sender.*<b>original<\/b>\r\n--orig--\r\n$/s);
  assert.match(text("2.HEADER")!, /^From: Original Sender.*\r\n\r\n$/s);
  assert.match(text("2.TEXT")!, /^--orig\r\n.*--orig--\r\n$/s);
  assert.equal(text("2.1"), "original text");
  assert.equal(text("2.2.MIME"), "Content-Type: text/html\r\n\r\n");
  assert.equal(text("2.1.1"), "original text", "a leaf answers to one .1");
  assert.equal(text("2.1.1.1"), undefined);
  assert.equal(text("1.HEADER"), undefined, "HEADER needs a message/rfc822 part");
  assert.equal(text("3"), undefined);
  assert.match(text("HEADER")!, /^From: fwd@example\.test\r\n.*\r\n\r\n$/s);
});

Deno.test("a non-multipart message has only part 1; a top-level message/rfc822 is entered", () => {
  const simple = parseMessage(fixture("01-simple.eml"));
  assert.equal(partAt(simple, [1]), simple);
  assert.equal(partAt(simple, [1, 1]), undefined);
  assert.equal(partAt(simple, [2]), undefined);
  const bytes = fixture("14-rfc822-top-level.eml");
  const top = parseMessage(bytes);
  const r = sectionRange(top, "1.1")!;
  assert.equal(slice(bytes, r.start, r.end), "inner body\r\ntwo lines\r\n");
  const h = sectionRange(top, "1.HEADER")!;
  assert.equal(slice(bytes, h.start, h.end), "From: inner@example.test\r\nSubject: inner\r\n\r\n");
});

Deno.test("HEADER.FIELDS and .NOT: fields in message order, CRLF, final empty line", () => {
  const bytes = crlf("Subject: s\nX-A: 1\nfrom: a@b\n folded\nX-A: 2\n\nbody\n");
  const root = parseMessage(bytes);
  assert.equal(
    latin1(headerFields(bytes, root, ["From", "x-a"], false)),
    "X-A: 1\r\nfrom: a@b\r\n folded\r\nX-A: 2\r\n\r\n",
  );
  assert.equal(latin1(headerFields(bytes, root, ["from", "x-a"], true)), "Subject: s\r\n\r\n");
  assert.equal(latin1(headerFields(bytes, root, ["nothing"], false)), "\r\n");
});

Deno.test("fetchSection sends CRLF and NUL as 0x80; partial fetches slice that", () => {
  const lf = new TextEncoder().encode("Subject: x\n\nline one\nline two\n");
  const root = parseMessage(lf);
  const text = fetchSection(lf, root, "TEXT")!;
  assert.equal(latin1(text), "line one\r\nline two\r\n");
  assert.equal(text.length, root.crlfSize);
  assert.equal(latin1(text.subarray(4, 4 + 8)), " one\r\nli", "BODY[TEXT]<4.8>");
  const nul = fixture("22-8bit-nul.eml");
  assert.equal(
    latin1(fetchSection(nul, parseMessage(nul), "1")!),
    "8-bit \xe9 and a NUL \x80 byte\r\n\x80\x80\r\n",
  );
  assert.equal(latin1(toCrlf(new TextEncoder().encode("a\nb\r\n"))), "a\r\nb\r\n");
});
