import assert from "node:assert/strict";
import {
  bodyText,
  decodeBase64,
  decodeBody,
  decodeEncodedWords,
  decodeQuotedPrintable,
  parseMessage,
} from "../../src/mime/mod.ts";
import { fixture, latin1 } from "./helpers.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

Deno.test("RFC 2047 section 8 examples", () => {
  const cases: [string, string][] = [
    ["(=?ISO-8859-1?Q?a?=)", "(a)"],
    ["(=?ISO-8859-1?Q?a?= b)", "(a b)"],
    ["(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"],
    ["(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"],
    ["(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"],
    ["(=?ISO-8859-1?Q?a_b?=)", "(a b)"],
    ["(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"],
    ["=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"],
    [
      "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
      "Andr\u00e9 Pirard <PIRARD@vm1.ulg.ac.be>",
    ],
    [
      "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= " +
      "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
      "If you can read this you understand the example.",
    ],
  ];
  for (const [input, want] of cases) assert.equal(decodeEncodedWords(input), want, input);
});

Deno.test("encoded words: split UTF-8 sequences joined, unknown charsets left raw, RFC 2231 language", () => {
  assert.equal(decodeEncodedWords("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?="), "caf\u00e9");
  assert.equal(decodeEncodedWords("=?x-unknown?q?abc?= d"), "=?x-unknown?q?abc?= d");
  assert.equal(decodeEncodedWords("=?utf-8*fr?q?=C3=A9t=C3=A9?="), "\u00e9t\u00e9");
  // Raw 8-bit header text (RFC 6532) read as UTF-8.
  assert.equal(decodeEncodedWords("caf\xc3\xa9"), "caf\u00e9");
});

Deno.test("quoted-printable: soft breaks, =XX either case, padding dropped, bad escapes kept", () => {
  const out = (text: string) => latin1(decodeQuotedPrintable(bytes(text)));
  assert.equal(
    out("Now's the time =\r\nfor all folk to come=\r\n to the aid of their country."),
    "Now's the time for all folk to come to the aid of their country.",
  );
  assert.equal(out("caf=C3=a9"), "caf\xc3\xa9");
  assert.equal(out("trailing   \r\nnext\t\n"), "trailing\r\nnext\n");
  assert.equal(out("kept=20\r\n"), "kept \r\n");
  assert.equal(out("a=ZZb=\nc= \r\nd="), "a=ZZbcd");
});

Deno.test("base64: line breaks and junk ignored, missing padding tolerated", () => {
  assert.equal(latin1(decodeBase64(bytes("aGVs\r\nbG8g\r\nd29y bGQ="))), "hello world");
  assert.equal(latin1(decodeBase64(bytes("aGVsbG8"))), "hello");
  assert.equal(latin1(decodeBase64(bytes("!!aG*Vs#bG8="))), "hello");
  assert.equal(decodeBase64(bytes("")).length, 0);
});

Deno.test("part bodies decoded by their transfer encoding and charset", () => {
  const message = fixture("24-encodings.eml");
  const [b64, qp] = parseMessage(message).children;
  assert.equal(bodyText(message, b64), "Gr\u00fc\u00dfe aus K\u00f6ln\nzweite Zeile\n");
  assert.equal(bodyText(message, qp), "Gr\u00fc\u00dfe \r\naus K\u00f6ln");
  const plain = fixture("01-simple.eml");
  const root = parseMessage(plain);
  assert.equal(latin1(decodeBody(plain, root)), "Hello Bob,\r\nthis is a plain message.\r\n");
});
