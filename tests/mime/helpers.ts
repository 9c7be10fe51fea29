/** Shared helpers for the MIME tests: the fixture corpus and the range invariants. */
import assert from "node:assert/strict";
import type { MimePart } from "../../src/mime/mod.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

export interface Fixture {
  name: string;
  bytes: Uint8Array;
}

export function loadFixtures(): Fixture[] {
  return [...Deno.readDirSync(FIXTURES)]
    .filter((e) => e.isFile && e.name.endsWith(".eml"))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, bytes: Deno.readFileSync(new URL(name, FIXTURES)) }));
}

export function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** Bytes of a binary string or of text with "\n" turned into CRLF. */
export function crlf(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\r?\n/g, "\r\n"), (c) => c.charCodeAt(0) & 0xff);
}

export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Text of a range of the message. */
export function slice(bytes: Uint8Array, start: number, end: number): string {
  return latin1(bytes.subarray(start, end));
}

/**
 * Every part's ranges are inside the buffer and ordered, children lie inside
 * their parent's body in order without overlap, an encapsulated message
 * fills its part's body (but for a line end given to a boundary). Returns the number of parts checked.
 */
export function checkRanges(part: MimePart, length: number): number {
  const { headerStart, headerEnd, bodyStart, bodyEnd } = part;
  const where = `part at ${headerStart}`;
  assert.ok(Number.isInteger(headerStart) && headerStart >= 0, where);
  assert.ok(headerStart <= headerEnd, where);
  assert.equal(headerEnd, bodyStart, where);
  assert.ok(bodyStart <= bodyEnd && bodyEnd <= length, where);
  assert.equal(part.size, bodyEnd - bodyStart, where);
  assert.ok(part.crlfSize >= part.size && part.lines >= 0, where);
  let count = 1;
  let previousEnd = bodyStart;
  for (const child of part.children) {
    assert.ok(child.headerStart >= previousEnd, `${where}: children in order`);
    assert.ok(child.bodyEnd <= bodyEnd, `${where}: child inside body`);
    previousEnd = child.bodyEnd;
    count += checkRanges(child, length);
  }
  if (part.message) {
    assert.equal(part.message.headerStart, bodyStart, where);
    // Equal, or short of a line end that ended the encapsulated header at a boundary.
    assert.ok(bodyEnd - part.message.bodyEnd <= 2 && part.message.bodyEnd <= bodyEnd, where);
    count += checkRanges(part.message, length);
  }
  return count;
}
