import assert from "node:assert/strict";
import { headerValue, type MimePart, paramValue, parseMessage } from "../../src/mime/mod.ts";
import { checkRanges, crlf, fixture, loadFixtures, slice } from "./helpers.ts";

const body = (bytes: Uint8Array, p: MimePart) => slice(bytes, p.bodyStart, p.bodyEnd);
const header = (bytes: Uint8Array, p: MimePart) => slice(bytes, p.headerStart, p.headerEnd);
const mediaType = (p: MimePart) => `${p.contentType.type}/${p.contentType.subtype}`;

Deno.test("every fixture parses into ordered in-range parts", () => {
  let parts = 0;
  for (const { name, bytes } of loadFixtures()) {
    const root = parseMessage(bytes);
    assert.equal(root.headerStart, 0, name);
    assert.equal(root.bodyEnd, bytes.length, name);
    parts += checkRanges(root, bytes.length);
  }
  assert.ok(parts > 300, `${parts} parts`);
});

Deno.test("RFC 2046 5.1.1 example: preamble and epilogue excluded, CRLF before a boundary belongs to it", () => {
  const bytes = fixture("05-rfc2046-example.eml");
  const root = parseMessage(bytes);
  assert.equal(root.kind, "multipart");
  assert.equal(root.boundary, "simple boundary");
  const [one, two] = root.children;
  assert.equal(root.children.length, 2);
  // The first part has no header: it starts with the empty line.
  assert.equal(header(bytes, one), "\r\n");
  assert.equal(one.explicitType, false);
  assert.equal(mediaType(one), "text/plain");
  assert.equal(
    body(bytes, one),
    "This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak.",
  );
  assert.equal(
    body(bytes, two),
    "This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n",
  );
  assert.equal(paramValue(two.contentType.params, "charset"), "us-ascii");
  assert.equal(one.lines, 1);
  assert.equal(two.lines, 2);
  assert.ok(!body(bytes, root).startsWith("--"), "the preamble is in the multipart's body");
  assert.match(body(bytes, root), /This is the epilogue/);
});

Deno.test("boundary lines with trailing white space and text after them still delimit", () => {
  const ws = fixture("07-boundary-whitespace.eml");
  const root = parseMessage(ws);
  assert.deepEqual(root.children.map((c) => body(ws, c)), ["one", "two"]);
  // Only the prefix must match (as Dovecot): "--gx" is a boundary line of "g".
  const g = fixture("30-garbage-after-boundary.eml");
  assert.deepEqual(parseMessage(g).children.map((c) => body(g, c)), ["one", "two"]);
});

Deno.test("a missing close delimiter ends the multipart at the end of the data", () => {
  const bytes = fixture("08-missing-final-boundary.eml");
  const root = parseMessage(bytes);
  assert.equal(root.children.length, 2);
  assert.equal(
    body(bytes, root.children[1]),
    "second, and the message ends without a close delimiter\r\n",
  );
  assert.equal(root.children[1].bodyEnd, bytes.length);
});

Deno.test("an inner multipart without close delimiter ends at the outer boundary", () => {
  const bytes = fixture("09-inner-missing-close.eml");
  const root = parseMessage(bytes);
  const [inner, second] = root.children;
  assert.equal(inner.kind, "multipart");
  assert.deepEqual(inner.children.map((c) => body(bytes, c)), [
    "inner one",
    'inner two, no close delimiter for "in"',
  ]);
  assert.equal(inner.bodyEnd, inner.children[1].bodyEnd);
  assert.equal(body(bytes, second), "outer second");
});

Deno.test("boundaries that are prefixes of each other: the longest match wins", () => {
  for (const name of ["10-boundary-prefix.eml", "11-boundary-prefix-inner-shorter.eml"]) {
    const bytes = fixture(name);
    const root = parseMessage(bytes);
    assert.equal(root.children.length, 2, name);
    assert.equal(root.children[0].kind, "multipart", name);
    assert.deepEqual(root.children[0].children.map((c) => body(bytes, c)), ["inner"], name);
    assert.equal(body(bytes, root.children[1]), "outer two", name);
  }
});

Deno.test("message/rfc822 is parsed with the encapsulated message's own ranges", () => {
  const bytes = fixture("13-message-rfc822.eml");
  const root = parseMessage(bytes);
  const attached = root.children[1];
  assert.equal(attached.kind, "message");
  const inner = attached.message!;
  assert.equal(headerValue(inner.fields, "subject"), "original");
  assert.match(header(bytes, inner), /^From: Original Sender.*\r\n\r\n$/s);
  assert.equal(inner.kind, "multipart");
  assert.deepEqual(inner.children.map((c) => body(bytes, c)), [
    "original text",
    "<b>original</b>",
  ]);
  assert.equal(attached.disposition?.type, "inline");
});

Deno.test("inside multipart/digest a part without Content-Type is message/rfc822", () => {
  const root = parseMessage(fixture("16-digest.eml"));
  assert.deepEqual(root.children.map(mediaType), [
    "message/rfc822",
    "text/plain",
    "message/rfc822",
  ]);
  assert.equal(root.children[0].explicitType, false);
  assert.equal(headerValue(root.children[0].message!.fields, "subject"), "first in digest");
});

Deno.test("multipart without boundary, or without boundary lines, has no parts", () => {
  for (const name of ["17-multipart-no-boundary.eml", "18-multipart-no-parts.eml"]) {
    const bytes = fixture(name);
    const root = parseMessage(bytes);
    assert.equal(root.kind, "multipart", name);
    assert.deepEqual(root.children, [], name);
    assert.equal(root.bodyEnd, bytes.length, name);
  }
});

Deno.test("a header without empty line: at the end of data, and before a boundary", () => {
  const only = fixture("19-header-only.eml");
  const root = parseMessage(only);
  assert.equal(root.headerComplete, false);
  assert.equal(root.headerEnd, only.length);
  assert.equal(root.size, 0);
  assert.equal(headerValue(root.fields, "subject"), "only a header");

  const bytes = fixture("20-part-header-no-blank.eml");
  const [first, second] = parseMessage(bytes).children;
  assert.equal(first.headerComplete, false);
  assert.equal(
    header(bytes, first),
    "Content-Type: text/plain\r\nX-Note: no blank line before the next boundary",
  );
  assert.equal(first.size, 0);
  assert.equal(body(bytes, second), "has body");
});

Deno.test("empty parts and a lone empty line before a boundary", () => {
  const bytes = fixture("21-empty-parts.eml");
  const parts = parseMessage(bytes).children;
  assert.equal(parts.length, 3);
  for (const p of parts) assert.equal(p.size, 0);
  // "--e\r\n\r\n--e": the empty line is the line end of the next boundary.
  assert.equal(header(bytes, parts[1]), "");
});

Deno.test("8-bit and NUL bytes pass through; header values are binary strings", () => {
  const bytes = fixture("22-8bit-nul.eml");
  const root = parseMessage(bytes);
  assert.equal(headerValue(root.fields, "subject"), "caf\xc3\xa9 \xff");
  assert.equal(body(bytes, root), "8-bit \xe9 and a NUL \x00 byte\r\n\x00\x00\r\n");
  assert.equal(root.encoding, "8bit");
});

Deno.test("RFC 2231 parameters: continuations joined, charset and language decoded", () => {
  const root = parseMessage(fixture("23-rfc2231.eml"));
  const [att, text] = root.children;
  assert.equal(paramValue(att.contentType.params, "name"), "\u20ac rates.txt");
  const filename = att.disposition!.params.find((p) => p.name === "filename")!;
  assert.equal(filename.value, "\u00e9t\u00e9.txt");
  assert.equal(filename.charset, "iso-8859-1");
  assert.equal(filename.language, "fr");
  assert.equal(paramValue(att.disposition!.params, "size"), "42");
  assert.equal(att.id, "<part2@example.test>");
  assert.equal(att.description, "An attachment");
  assert.equal(att.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  assert.equal(att.location, "http://example.test/x");
  assert.deepEqual(att.language, ["fr", "en-GB"]);
  assert.equal(paramValue(text.contentType.params, "title"), "a b");
  assert.equal(paramValue(text.contentType.params, "charset"), "UTF-8");
});

Deno.test("Content-Type defaults: missing, invalid, without subtype, upper case", () => {
  const missing = parseMessage(crlf("Subject: x\n\nbody\n"));
  assert.equal(mediaType(missing), "text/plain");
  assert.equal(missing.explicitType, false);
  const invalid = parseMessage(fixture("25-invalid-content-type.eml"));
  assert.equal(mediaType(invalid), "text/plain");
  assert.equal(invalid.explicitType, false);
  const bare = parseMessage(fixture("27-type-without-subtype.eml"));
  assert.equal(mediaType(bare), "text/");
  const upper = parseMessage(fixture("26-uppercase-types.eml"));
  assert.equal(upper.kind, "multipart");
  assert.equal(upper.contentType.wireType, "MULTIPART");
  assert.equal(mediaType(upper.children[0]), "text/plain");
  assert.equal(upper.children[0].encoding, "7bit");
  assert.equal(upper.children[0].encodingWire, "7BIT");
  // Comments around the encoding token (RFC 2045 6.1 allows them).
  assert.equal(parseMessage(fixture("33-cte-comment.eml")).encoding, "base64");
});

Deno.test("line and size counts: LFs counted as lines, bare LFs as two octets", () => {
  const bytes = fixture("02-simple-lf.eml");
  const root = parseMessage(bytes);
  assert.equal(body(bytes, root), "line one\nline two\n");
  assert.equal(root.size, 18);
  assert.equal(root.lines, 2);
  assert.equal(root.crlfSize, 20);
  assert.equal(root.headerCrlfSize, root.headerEnd + 4); // 4 header lines with LF
});

Deno.test("nesting past the limit leaves an opaque leaf, without deep recursion", () => {
  const bytes = fixture("38-deep-nesting.eml");
  let part = parseMessage(bytes);
  let depth = 0;
  while (part.kind === "multipart") {
    part = part.children[0];
    depth++;
  }
  assert.equal(depth, 99);
  assert.equal(part.overflow, true);
  assert.equal(part.contentType.type, "multipart");
  assert.equal(part.bodyEnd <= bytes.length, true);

  // 3,000 nested messages: parsing stops at the default limit of 100 levels.
  const levels = 3000;
  let text = "";
  for (let i = 0; i < levels; i++) text += `Content-Type: message/rfc822\n\n`;
  const deep = new TextEncoder().encode(text + "Subject: bottom\n\nx\n");
  const shallow = parseMessage(deep);
  let count = 0;
  for (let p: MimePart | undefined = shallow; p; p = p.message) count++;
  assert.equal(count, 100);
  // A caller's higher limit is capped at 1,000 levels, far below the call stack's size.
  let capped = 0;
  for (let p: MimePart | undefined = parseMessage(deep, { maxDepth: 1e9 }); p; p = p.message) {
    capped++;
  }
  assert.equal(capped, 1000);
});

Deno.test("part and header-field limits", () => {
  let text = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (let i = 0; i < 50; i++) text += `--b\n\npart ${i}\n`;
  const root = parseMessage(new TextEncoder().encode(text), { maxParts: 10 });
  assert.equal(root.children.length, 9);
  checkRanges(root, text.length);

  const many = "X-A: 1\n".repeat(500) + "Subject: last\n\nbody\n";
  const capped = parseMessage(new TextEncoder().encode(many), { maxHeaderFields: 100 });
  assert.equal(capped.fields.length, 100);
  assert.equal(capped.fieldsTruncated, true);
  assert.equal(slice(new TextEncoder().encode(many), capped.bodyStart, capped.bodyEnd), "body\n");
});

Deno.test("empty input and a lone empty line", () => {
  const empty = parseMessage(new Uint8Array(0));
  assert.deepEqual(
    [empty.headerStart, empty.headerEnd, empty.bodyEnd, empty.fields.length],
    [0, 0, 0, 0],
  );
  const blank = parseMessage(crlf("\n"));
  assert.equal(blank.headerComplete, true);
  assert.equal(blank.headerEnd, 2);
});

Deno.test("folded header fields are unfolded; lines without a colon are kept", () => {
  const bytes = fixture("37-folded-content-type.eml");
  const root = parseMessage(bytes);
  assert.equal(root.boundary, "folded -boundary");
  assert.equal(root.children.length, 1);
  const odd = parseMessage(fixture("45-no-colon-line.eml"));
  assert.deepEqual(odd.fields.map((f) => [f.name, f.hasColon]), [
    ["Subject", true],
    ["this line has no colon", false],
    ["From", true],
  ]);
});
