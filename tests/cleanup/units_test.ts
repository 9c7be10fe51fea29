import assert from "node:assert/strict";
import { formatMailDate, splitMessage } from "../../src/cleanup/mod.ts";
import { quoteAddress } from "../../src/cleanup/address_text.ts";
import { fieldSize, truncateField } from "../../src/cleanup/header_size.ts";
import { bytes, latin1 } from "./helpers.ts";

Deno.test("formatMailDate: RFC 5322 date-time with the zone offset", () => {
  const d = new Date(Date.UTC(2026, 0, 3, 23, 30, 9));
  assert.equal(formatMailDate(d, 0), "Sat, 3 Jan 2026 23:30:09 +0000");
  assert.equal(formatMailDate(d, 60), "Sun, 4 Jan 2026 00:30:09 +0100");
  assert.equal(formatMailDate(d, -270), "Sat, 3 Jan 2026 19:00:09 -0430");
  assert.match(formatMailDate(d), /^\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
});

Deno.test("splitMessage: fields with continuation lines, names as written, body after the blank line", () => {
  const m = splitMessage(bytes("Subject: a\r\n b\r\nX-Obs : c\r\n\r\nbody\r\n"));
  assert.deepEqual(m.fields.map((f) => [f.name, f.key, latin1(f.raw)]), [
    ["Subject", "subject", "Subject: a\r\n b\r\n"],
    ["X-Obs", "x-obs", "X-Obs : c\r\n"],
  ]);
  assert.equal(m.end, "blank");
  assert.equal(latin1(m.body), "body\r\n");
  assert.equal(splitMessage(bytes(": no name\r\n")).end, "garbage");
  assert.equal(splitMessage(bytes("Subject: x\r\n")).end, "end");
});

Deno.test("truncateField keeps fitting fields as they are", () => {
  const raw = bytes("Subject: hello\r\n");
  assert.equal(fieldSize(raw), 14);
  assert.equal(truncateField(raw, 14), raw);
  assert.equal(latin1(truncateField(raw, 12)), "Subject: hel\r\n");
});

Deno.test("quoteAddress quotes local parts that are not dot-atoms", () => {
  assert.equal(quoteAddress("bob@example.net"), "bob@example.net");
  assert.equal(quoteAddress("jöhn@exämple.net"), "jöhn@exämple.net");
  assert.equal(quoteAddress('a "b"\\c@example.net'), '"a \\"b\\"\\\\c"@example.net');
  assert.equal(quoteAddress("a..b@example.net"), '"a..b"@example.net');
  assert.equal(quoteAddress('"already quoted"@example.net'), '"already quoted"@example.net');
  assert.equal(quoteAddress("evil\r\nBcc: x@example.net"), '"evil??Bcc: x"@example.net');
});
